// Micro-benchmarks of kernels::matmul, the product that dominates a forward pass, per weight type:
//   weight shapes  576 x 1536  (SmolLM2-135M ffn_up: n_in 576, n_out 1536)
//                  2048 x 8192 (Llama-3.2-1B ffn_up: n_in 2048, n_out 8192)
//   tokens         1 (decode: matrix-vector) and 64 (prompt: matrix-matrix)
//   threads        1 and 2 (a persistent ThreadPool, as the engine uses)
// Reported rate: bytes of weights processed per second (bytes_per_second), which for decode is
// to be compared with the machine's memory bandwidth (`rightsize bench --bandwidth-only`), and
// tokens per second (items_per_second). K-quants need rows that are a multiple of 256, so they
// run on the 2048 x 8192 shape only.
//
//   rightsize_bench_kernels --benchmark_filter='matmul/q4_0/.*tokens:1/'
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace {

using rs::DType;

struct Weights {
  std::vector<uint8_t> bytes;
  rs::kernels::WeightView view;
};

// Random N(0, 0.02²) weights quantized row by row into `type`; built once per (type, shape).
const Weights& weights(DType type, int64_t n_in, int64_t n_out) {
  static std::map<std::tuple<DType, int64_t, int64_t>, std::unique_ptr<Weights>> cache;
  auto& slot = cache[{type, n_in, n_out}];
  if (slot) return *slot;
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
  slot->view = {type, n_in, n_out, slot->bytes.data(), row};
  return *slot;
}

rs::ThreadPool& pool(int threads) {
  static std::map<int, std::unique_ptr<rs::ThreadPool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<rs::ThreadPool>(threads);
  return *p;
}

void bench_matmul(benchmark::State& state, DType type, int64_t n_in, int64_t n_out,
                  int64_t n_tokens, int threads) {
  const Weights& w = weights(type, n_in, n_out);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_tokens * n_in)),
      y(static_cast<size_t>(n_tokens * n_out));
  for (auto& v : x) v = normal(rng);
  rs::ThreadPool& p = pool(threads);
  for (auto _ : state) {
    rs::kernels::matmul(w.view, x.data(), n_tokens, y.data(), nullptr, &p);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.bytes.size()));
  state.SetItemsProcessed(state.iterations() * n_tokens);
  state.counters["weight_MiB"] = static_cast<double>(w.bytes.size()) / 1048576.0;
}

void register_all() {
  const DType types[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                         DType::Q4_0, DType::Q4_K, DType::Q6_K};
  const std::pair<int64_t, int64_t> shapes[] = {{576, 1536}, {2048, 8192}};
  for (DType t : types)
    for (auto [n_in, n_out] : shapes) {
      if (n_in % rs::dtype_info(t).block_size != 0) continue;
      for (int64_t tokens : {1, 64})
        for (int threads : {1, 2}) {
          const std::string name = "matmul/" + std::string(rs::dtype_name(t)) + "/" +
                                   std::to_string(n_in) + "x" + std::to_string(n_out) +
                                   "/tokens:" + std::to_string(tokens) +
                                   "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), bench_matmul, t, n_in, n_out, tokens, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
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
