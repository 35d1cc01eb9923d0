#include "model/tensor_convert.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/gguf.h"
#include "kernels/quant.h"

namespace rs {
namespace {

// Rows per parallel slice: about 8 MiB of f32 values, so progress moves smoothly and every thread
// of the pool gets work even for small tensors.
int64_t slice_rows(int64_t n_in, int64_t rows, int n_threads) {
  const int64_t by_size = std::max<int64_t>(1, (int64_t{8} << 20) / std::max<int64_t>(1, n_in * 4));
  return std::min(rows, std::max<int64_t>(by_size, n_threads));
}

struct Progress {
  const ProgressFn& fn;
  uint64_t done = 0, total = 0;
  void add(uint64_t bytes, const std::string& tensor) {
    done += bytes;
    if (fn) fn(done, total, tensor);
  }
};

std::vector<uint8_t> produce(const TensorJob& job, ThreadPool& pool, Progress& progress) {
  const TensorPlan& p = job.plan;
  std::vector<uint8_t> out(p.bytes_out);
  if (!job.row_values) {
    std::memcpy(out.data(), job.raw.data(), out.size());
    progress.add(out.size(), p.name);
    return out;
  }
  const int64_t n_in = p.ne[0], rows = p.rows();
  const size_t out_row = row_bytes(dtype_info(p.to), static_cast<uint64_t>(n_in));
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()),
                                          std::vector<float>(static_cast<size_t>(n_in)));
  // A worker thread must not throw (it would terminate the process): keep the first error and
  // rethrow it on the calling thread.
  std::mutex mu;
  std::exception_ptr error;
  const int64_t step = slice_rows(n_in, rows, pool.size());
  for (int64_t r0 = 0; r0 < rows; r0 += step) {
    const int64_t r1 = std::min(rows, r0 + step);
    pool.parallel_for(r1 - r0, [&](int64_t b, int64_t e, int tid) {
      try {
        float* buf = scratch[static_cast<size_t>(tid)].data();
        for (int64_t r = r0 + b; r < r0 + e; ++r) {
          job.row_values(r, buf);
          kernels::quantize_row(p.to, buf, out.data() + static_cast<size_t>(r) * out_row, n_in);
        }
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
    progress.add(static_cast<uint64_t>(r1 - r0) * out_row, p.name);
  }
  return out;
}

}  // namespace

int64_t TensorPlan::n_elements() const {
  int64_t n = 1;
  for (auto d : ne) n *= d;
  return n;
}

WriteReport write_converted(gguf::Writer& writer, std::vector<TensorJob> jobs,
                            const std::string& path, int n_threads, const ProgressFn& progress_fn) {
  const auto t0 = std::chrono::steady_clock::now();
  WriteReport report;
  for (auto& j : jobs) {
    TensorPlan& p = j.plan;
    RS_CHECK(!p.ne.empty() && p.ne[0] > 0, "tensor '{}' has an empty shape", p.name);
    const auto& info = dtype_info(p.to);
    RS_CHECK(p.ne[0] % info.block_size == 0,
             "tensor '{}': row length {} is not a multiple of {}'s block of {}", p.name, p.ne[0],
             dtype_name(p.to), info.block_size);
    p.bytes_out = row_bytes(info, static_cast<uint64_t>(p.n_elements()));
    if (j.row_values) {
      RS_CHECK(kernels::is_supported(p.to), "tensor '{}': rightsize cannot write type {}", p.name,
               dtype_name(p.to));
    } else {
      RS_CHECK(j.raw.size() == p.bytes_out, "tensor '{}': {} bytes to copy, its shape needs {}",
               p.name, j.raw.size(), p.bytes_out);
    }
    report.tensor_bytes += p.bytes_out;
    report.tensors.push_back(p);
  }

  ThreadPool pool(n_threads);
  Progress progress{progress_fn, 0, report.tensor_bytes};
  // The writer calls each producer in tensor order while it writes, so one tensor's output is in
  // memory at a time; the jobs (and their sources) outlive write().
  auto shared_jobs = std::make_shared<std::vector<TensorJob>>(std::move(jobs));
  for (size_t i = 0; i < shared_jobs->size(); ++i) {
    const TensorPlan& p = (*shared_jobs)[i].plan;
    writer.add_tensor_lazy(p.name, p.to, p.ne, [shared_jobs, i, &pool, &progress] {
      const TensorJob& job = (*shared_jobs)[i];
      std::vector<uint8_t> bytes = produce(job, pool, progress);
      if (job.release) job.release();
      return bytes;
    });
  }
  writer.write(path);
  std::error_code ec;
  report.file_bytes = std::filesystem::file_size(path, ec);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

std::vector<std::string> summarize_types(const std::vector<TensorPlan>& tensors) {
  struct Kind {
    std::map<std::string, int> counts;  // "q6_K (note)" -> count
    uint64_t bytes = 0;
  };
  std::vector<std::pair<std::string, Kind>> kinds;  // first-seen order
  static const std::regex blk(R"(^blk\.\d+\.)");
  for (const auto& t : tensors) {
    const std::string kind = std::regex_replace(t.name, blk, "blk.*.");
    auto it =
        std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == kind; });
    if (it == kinds.end()) it = kinds.insert(kinds.end(), {kind, Kind{}});
    std::string key(dtype_name(t.to));
    if (!t.note.empty()) key += " (" + t.note + ")";
    it->second.counts[key]++;
    it->second.bytes += t.bytes_out;
  }
  std::vector<std::string> lines;
  for (const auto& [kind, k] : kinds) {
    std::string types;
    for (const auto& [key, n] : k.counts)
      types += (types.empty() ? "" : ", ") + fmt::format("{} x{}", key, n);
    lines.push_back(fmt::format("{:<28} {:>9.2f} MiB  {}", kind, k.bytes / 1048576.0, types));
  }
  return lines;
}

}  // namespace rs
