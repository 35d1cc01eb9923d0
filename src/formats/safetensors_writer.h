// Writing safetensors files (the reader is safetensors.h): u64 little-endian header length, the
// JSON header with each tensor's dtype, shape and byte range, padded with spaces to a multiple of
// 8 bytes (as the reference implementation does), then the tensor bytes in header order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rs::safetensors {

struct F32Tensor {
  std::string name;
  std::vector<int64_t> shape;  // PyTorch order: shape[0] is the slowest dimension
  std::vector<float> values;   // product(shape) values, row-major
};

// Writes `tensors` as F32 to `path` atomically (path.tmp, then rename). Tensors are stored in
// name order (the reference writer sorts them too). Throws rs::Error on I/O failure or when a
// tensor's value count does not match its shape.
void write_f32(const std::string& path, const std::vector<F32Tensor>& tensors,
               const std::map<std::string, std::string>& metadata = {});

}  // namespace rs::safetensors
