// Micro-benchmarks of kernels::matmul, the product that dominates a forward pass, per weight type
// and per instruction set the CPU runs (isa: avx512, avx2, scalar):
//   matmul/TYPE/NINxNOUT/tokens:N/threads:T/isa:I
//     weight shapes  576 x 1536  (SmolLM2-135M ffn_up: n_in 576, n_out 1536)
//                    2048 x 8192 (Llama-3.2-1B ffn_up: n_in 2048, n_out 8192)
//     tokens         1 (decode: matrix-vector) and 64 (prompt: matrix-matrix)
//     threads        1 and 2 (a persistent ThreadPool, as the engine uses)
//   The same matrix every iteration, so a small one is read from cache: this measures the
//   kernels' arithmetic. Rates: GMAC/s (multiply-adds) and tokens/s (items_per_second).
//   TYPE_lanes: the weights repacked into the lane layout (kernels/repack.h), as the model loads
//   them.
//   decode/TYPE/576x1536/threads:T/isa:I
//     One token through a different copy of the matrix each iteration, 160 MiB of copies in all,
//     so weights stream from memory as in a decode step: bytes_per_second is to be compared with
//     the machine's read bandwidth (`rightsize bench --bandwidth-only -t T`).
// K-quants need rows that are a multiple of 256, so they run on the 2048 x 8192 shape only (and
// in decode/ on 2048 x 1536).
//
//   attend/heads:N/ctx:C/kv:f16/simd|scalar
//     kernels::attend for one query position: N query heads sharing C cached f16 keys and values
//     (head_dim 64); simd is the AVX2 path (when the CPU has it), scalar the portable one.
//
//   rightsize_bench_kernels --benchmark_filter='matmul/q4_0/.*tokens:64/.*avx512'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/repack.h"

namespace {

using rs::DType;
using rs::kernels::gemm::Isa;

struct Weights {
  std::vector<uint8_t> bytes;
  rs::kernels::WeightView view;
};

// Random N(0, 0.02²) weights quantized row by row into `type`, in the file's layout or (lanes)
// repacked as the model loads them (kernels/repack.h); built once per (type, shape, layout).
const Weights& weights(DType type, int64_t n_in, int64_t n_out, bool lanes = false) {
  static std::map<std::tuple<DType, int64_t, int64_t, bool>, std::unique_ptr<Weights>> cache;
  auto& slot = cache[{type, n_in, n_out, lanes}];
  if (slot) return *slot;
  if (lanes) {
    const Weights& rows = weights(type, n_in, n_out);
    slot = std::make_unique<Weights>();
    slot->bytes.resize(rows.bytes.size());
    slot->view = rs::kernels::pack_lanes(rows.view, slot->bytes.data());
    return *slot;
  }
  slot = std::make_unique<Weights>();
  const size_t row = rs::row_bytes(rs::dtype_info(type), static_cast<uint64_t>(n_in));
  slot->bytes.resize(row * static_cast<size_t>(n_out));
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> values(static_cast<size_t>(n_in));
  for (int64_t r = 0; r < n_out; ++r) {
    for (auto& v : values) v = normal(rng);
    rs::kernels::quantize_row(type, values.data(),
                              slot->bytes.data() + static_cast<size_t>(r) * row, n_in);
  }
  slot->view = {type, n_in, n_out, slot->bytes.data(), row, rs::kernels::WeightLayout::Rows};
  return *slot;
}

rs::ThreadPool& pool(int threads) {
  static std::map<int, std::unique_ptr<rs::ThreadPool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<rs::ThreadPool>(threads);
  return *p;
}

std::vector<float> gaussian(size_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  return x;
}

void bench_matmul(benchmark::State& state, DType type, int64_t n_in, int64_t n_out,
                  int64_t n_tokens, int threads, Isa isa, bool lanes) {
  const Weights& w = weights(type, n_in, n_out, lanes);
  const auto x = gaussian(static_cast<size_t>(n_tokens * n_in));
  std::vector<float> y(static_cast<size_t>(n_tokens * n_out));
  rs::ThreadPool& p = pool(threads);
  for (auto _ : state) {
    rs::kernels::matmul(w.view, x.data(), n_tokens, y.data(), nullptr, &p, isa);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n_tokens);
  state.counters["GMAC/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(n_in * n_out * n_tokens) / 1e9,
      benchmark::Counter::kIsRate);
}

void bench_decode(benchmark::State& state, DType type, int64_t n_in, int64_t n_out, int threads,
                  Isa isa, bool lanes) {
  const Weights& w = weights(type, n_in, n_out, lanes);
  const size_t bytes = w.bytes.size();
  const size_t copies = std::max<size_t>(2, (size_t{160} << 20) / bytes);
  static std::vector<uint8_t> pool_bytes;  // shared by all decode benchmarks, grown as needed
  if (pool_bytes.size() < copies * bytes) pool_bytes.resize(copies * bytes);
  for (size_t c = 0; c < copies; ++c)
    std::copy(w.bytes.begin(), w.bytes.end(),
              pool_bytes.begin() + static_cast<std::ptrdiff_t>(c * bytes));
  const auto x = gaussian(static_cast<size_t>(n_in));
  std::vector<float> y(static_cast<size_t>(n_out));
  rs::ThreadPool& p = pool(threads);
  size_t c = 0;
  for (auto _ : state) {
    rs::kernels::WeightView v = w.view;
    v.data = pool_bytes.data() + c * bytes;
    c = c + 1 == copies ? 0 : c + 1;
    rs::kernels::matmul(v, x.data(), 1, y.data(), nullptr, &p, isa);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

// One query position of one KV head's group against ctx cached f16 keys/values (head_dim 64):
// what Model::attention runs per (token, KV head). n_q query heads share the keys (SmolLM2-135M
// 3, Llama-3.2-1B 4). items_per_second: calls.
void bench_attend(benchmark::State& state, int n_q, int64_t ctx, bool scalar) {
  const int64_t hd = 64;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> q(static_cast<size_t>(n_q * hd)), out(q.size()),
      scores(static_cast<size_t>(n_q * ctx));
  std::vector<uint16_t> k(static_cast<size_t>(ctx * hd)), v(k.size());
  for (float& x : q) x = nd(rng);
  for (auto* buf : {&k, &v})
    for (uint16_t& x : *buf) x = rs::fp32_to_fp16(nd(rng));
  rs::kernels::AttendArgs a;
  a.q = q.data();
  a.q_stride = hd;
  a.n_q = n_q;
  a.k = k.data();
  a.v = v.data();
  a.k_stride = a.v_stride = hd;
  a.kv_f16 = true;
  a.j1 = ctx;
  a.head_dim = a.head_dim_v = hd;
  a.scale = 0.125f;
  a.out = out.data();
  a.o_stride = hd;
  a.scores = scores.data();
  for (auto _ : state) {
    if (scalar)
      rs::kernels::attend_scalar(a);
    else
      rs::kernels::attend(a);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void register_all() {
  const DType types[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                         DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q6_K};
  const std::pair<int64_t, int64_t> shapes[] = {{576, 1536}, {2048, 8192}};
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Scalar})
    if (rs::kernels::gemm::isa_supported(isa)) isas.push_back(isa);
  for (Isa isa : isas)
    for (DType t : types)
      for (bool lanes : {false, true}) {
        if (lanes && isa == Isa::Scalar) continue;  // every type listed has a lane layout
        const std::string suffix = "/isa:" + std::string(rs::kernels::gemm::isa_name(isa));
        const std::string type = std::string(rs::dtype_name(t)) + (lanes ? "_lanes" : "");
        for (auto [n_in, n_out] : shapes) {
          if (n_in % rs::dtype_info(t).block_size != 0) continue;
          if (isa == Isa::Scalar && n_in > 576) continue;  // minutes per run; shape says enough
          for (int64_t tokens : {1, 64})
            for (int threads : {1, 2}) {
              const std::string name = "matmul/" + type + "/" + std::to_string(n_in) + "x" +
                                       std::to_string(n_out) + "/tokens:" + std::to_string(tokens) +
                                       "/threads:" + std::to_string(threads) + suffix;
              benchmark::RegisterBenchmark(name.c_str(), bench_matmul, t, n_in, n_out, tokens,
                                           threads, isa, lanes)
                  ->UseRealTime()
                  ->Unit(benchmark::kMicrosecond);
            }
        }
        const int64_t n_in = rs::dtype_info(t).block_size == 256 ? 2048 : 576;
        for (int threads : {1, 2}) {
          const std::string name = "decode/" + type + "/" + std::to_string(n_in) +
                                   "x1536/threads:" + std::to_string(threads) + suffix;
          benchmark::RegisterBenchmark(name.c_str(), bench_decode, t, n_in, 1536, threads, isa,
                                       lanes)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
  for (bool scalar : {false, true})
    for (int n_q : {1, 3, 4})
      for (int64_t ctx : {128, 1024}) {
        const std::string name = "attend/heads:" + std::to_string(n_q) +
                                 "/ctx:" + std::to_string(ctx) + "/kv:f16/" +
                                 (scalar ? "scalar" : "simd");
        benchmark::RegisterBenchmark(name.c_str(), bench_attend, n_q, ctx, scalar)
            ->Unit(benchmark::kMicrosecond);
      }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
