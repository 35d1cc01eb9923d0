// Hugging Face safetensors files: u64 little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the raw little-endian tensor bytes. Every entry is validated (known dtype, shape product ×
// element size == end − begin, range inside the file, no overlaps) before use.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mapped_file.h"

namespace rs::safetensors {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };
size_t dtype_size(DType t);
std::string_view dtype_name(DType t);

struct Tensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // row-major, PyTorch order: shape[0] is the slowest dimension
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t n_elements() const;
};

class File {
 public:
  static std::unique_ptr<File> open(const std::string& path);
  static std::unique_ptr<File> parse(std::span<const uint8_t> bytes, std::string name = "<memory>");

  const std::vector<Tensor>& tensors() const { return tensors_; }
  const Tensor* tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& name() const { return name_; }

 private:
  File() = default;
  void parse_all();

  MappedFile map_;
  std::span<const uint8_t> bytes_;
  std::string name_;
  std::vector<Tensor> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace rs::safetensors
