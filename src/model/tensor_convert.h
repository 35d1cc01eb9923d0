// Streams tensors into a GGUF file, converting each one to its target type on a thread pool while
// the file is written, so that quantizing or generating a model holds one tensor's output bytes in
// memory at a time (plus one row of f32 per thread), never a second copy of the model.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace rs::gguf {
class Writer;
}

namespace rs {

// Called after each slice of work: bytes of output produced so far, in total, and the tensor.
using ProgressFn =
    std::function<void(uint64_t done_bytes, uint64_t total_bytes, const std::string& tensor)>;

// What happened to one tensor (the plan, then the record of the write).
struct TensorPlan {
  std::string name;
  std::vector<int64_t> ne;  // ne[0] = row length
  DType from = DType::F32;  // source type (F32 for generated values)
  DType to = DType::F32;    // written type
  std::string note;         // why `to` differs from the mix's base type ("" when it does not)
  uint64_t bytes_in = 0;    // source bytes (0 for generated values)
  uint64_t bytes_out = 0;

  int64_t n_elements() const;
  int64_t rows() const { return ne.empty() || ne[0] == 0 ? 0 : n_elements() / ne[0]; }
};

// A tensor to write: the plan plus where its values come from.
struct TensorJob {
  TensorPlan plan;
  // Either bytes already in plan.to, copied unchanged ...
  std::span<const uint8_t> raw;
  // ... or the f32 values of row r (plan.ne[0] of them). Called from several threads at once for
  // different rows, so it must only read shared state.
  std::function<void(int64_t row, float* out)> row_values;
  // Optional: called once the tensor's bytes are in the file (quantize drops the input's mapped
  // pages here, so the process's resident size stays near one tensor, not the whole input).
  std::function<void()> release;
};

struct WriteReport {
  std::vector<TensorPlan> tensors;
  uint64_t tensor_bytes = 0;  // sum of bytes_out
  uint64_t file_bytes = 0;
  double seconds = 0;
};

// Adds every job to `writer` (whose metadata the caller has set) as a lazily produced tensor and
// writes the file atomically (tmp + rename). Throws rs::Error before writing anything when a
// target type cannot be produced.
WriteReport write_converted(gguf::Writer& writer, std::vector<TensorJob> jobs,
                            const std::string& path, int n_threads, const ProgressFn& progress);

// One line per tensor kind ("blk.N." shown as "blk.*.") with its types and counts and the reasons
// for any departure from the mix's base type, for the summary `quantize` prints.
std::vector<std::string> summarize_types(const std::vector<TensorPlan>& tensors);

}  // namespace rs
