// Oracle GGUF files for the kernel tests, read with the project's own reader (formats/gguf.h),
// presented as rows of raw blocks.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf.h"
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
  explicit MiniGguf(const std::filesystem::path& path) : file_(gguf::File::open(path.string())) {
    for (const auto& t : file_->tensors()) tensors_.push_back({t.name, t.type, t.ne, t.data, t.nbytes});
  }
  const std::vector<MiniTensor>& tensors() const { return tensors_; }
  const MiniTensor* find(const std::string& name) const {
    for (const auto& t : tensors_)
      if (t.name == name) return &t;
    return nullptr;
  }

 private:
  std::unique_ptr<gguf::File> file_;
  std::vector<MiniTensor> tensors_;
};

// The oracle model folder, or "" without the shared data.
inline std::filesystem::path oracle_models() {
  const auto dir = shared_dir();
  return dir.empty() ? dir : dir / "oracle" / "models";
}

}  // namespace rs::test
