// A minimal GGUF reader for the kernel tests. test_kernels links only rs_kernels (and rs_core
// below it), not rs_formats, so it cannot use formats/gguf.h; this reads just what the tests
// need (tensor names, types, shapes and data) from a trusted oracle file held in memory.
//
// Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv × (string key,
// u32 type, value), n_tensors × (string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset),
// then the data section at the next multiple of general.alignment (default 32).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "test_util.h"

namespace rs::test {

struct MiniTensor {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> ne;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t row_len() const { return ne.empty() ? 1 : ne[0]; }
  int64_t n_rows() const {
    int64_t r = 1;
    for (size_t i = 1; i < ne.size(); ++i) r *= ne[i];
    return r;
  }
  size_t row_bytes() const { return nbytes / static_cast<size_t>(n_rows()); }
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes(); }
};

class MiniGguf {
 public:
  explicit MiniGguf(const std::filesystem::path& path) : bytes_(read_file(path)) { parse(); }
  MiniGguf(const MiniGguf&) = delete;
  MiniGguf& operator=(const MiniGguf&) = delete;

  const std::vector<MiniTensor>& tensors() const { return tensors_; }
  const MiniTensor* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }

 private:
  template <typename T>
  T get() {
    if (pos_ + sizeof(T) > bytes_.size()) throw std::runtime_error("gguf: truncated");
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string() {
    const auto len = get<uint64_t>();
    if (pos_ + len > bytes_.size()) throw std::runtime_error("gguf: truncated string");
    std::string s = bytes_.substr(pos_, len);
    pos_ += len;
    return s;
  }
  // Skips one value of GGUF value type `type`; returns it when it is an integer (for alignment).
  uint64_t skip_value(uint32_t type) {
    switch (type) {
      case 0:
      case 1:
      case 7:
        return get<uint8_t>();  // u8, i8, bool
      case 2:
      case 3:
        return get<uint16_t>();  // u16, i16
      case 4:
      case 5:
        return get<uint32_t>();  // u32, i32
      case 6:
        get<float>();
        return 0;  // f32
      case 8:
        get_string();
        return 0;  // string
      case 10:
      case 11:
        return get<uint64_t>();  // u64, i64
      case 12:
        get<double>();
        return 0;  // f64
      case 9: {    // array
        const auto elem = get<uint32_t>();
        const auto n = get<uint64_t>();
        for (uint64_t i = 0; i < n; ++i) skip_value(elem);
        return 0;
      }
      default:
        throw std::runtime_error("gguf: bad value type");
    }
  }

  void parse() {
    if (bytes_.size() < 4 || bytes_.compare(0, 4, "GGUF") != 0)
      throw std::runtime_error("gguf: bad magic");
    pos_ = 4;
    get<uint32_t>();  // version
    const auto n_tensors = get<uint64_t>();
    const auto n_kv = get<uint64_t>();
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = get_string();
      const auto type = get<uint32_t>();
      const uint64_t v = skip_value(type);
      if (key == "general.alignment") alignment = v;
    }
    std::vector<uint64_t> offsets;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      MiniTensor t;
      t.name = get_string();
      const auto n_dims = get<uint32_t>();
      for (uint32_t d = 0; d < n_dims; ++d) t.ne.push_back(static_cast<int64_t>(get<uint64_t>()));
      t.type = static_cast<DType>(get<uint32_t>());
      offsets.push_back(get<uint64_t>());
      tensors_.push_back(std::move(t));
    }
    const uint64_t data_start = (pos_ + alignment - 1) / alignment * alignment;
    const auto* base = reinterpret_cast<const uint8_t*>(bytes_.data());
    for (size_t i = 0; i < tensors_.size(); ++i) {
      MiniTensor& t = tensors_[i];
      const auto& info = dtype_info(t.type);
      t.nbytes =
          row_bytes(info, static_cast<uint64_t>(t.row_len())) * static_cast<size_t>(t.n_rows());
      if (data_start + offsets[i] + t.nbytes > bytes_.size())
        throw std::runtime_error("gguf: tensor data out of bounds");
      t.data = base + data_start + offsets[i];
      index_[t.name] = i;
    }
  }

  std::string bytes_;
  size_t pos_ = 0;
  std::vector<MiniTensor> tensors_;
  std::map<std::string, size_t> index_;
};

// The oracle model folder, or "" without the shared data.
inline std::filesystem::path oracle_models() {
  const auto dir = shared_dir();
  return dir.empty() ? dir : dir / "oracle" / "models";
}

}  // namespace rs::test
