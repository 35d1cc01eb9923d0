// safetensors reader: the real stories260K export, and corrupt headers.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "formats/safetensors.h"
#include "test_util.h"

namespace rs::safetensors {
namespace {

std::vector<uint8_t> make(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> b(8 + header.size() + data_bytes, 0);
  const uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

TEST(Safetensors, ParsesHeader) {
  auto b = make(R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]}})", 12);
  auto f = File::parse(b);
  ASSERT_EQ(f->tensors().size(), 1u);
  const Tensor* t = f->tensor("w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::F16);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->nbytes, 12u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
}

TEST(Safetensors, RejectsCorruptFiles) {
  const std::vector<std::pair<std::string, size_t>> bad = {
      {"not json", 0},
      {"[1,2]", 0},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}})", 8},        // size mismatch
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4},        // past the end
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8},        // reversed
      {R"({"w":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})", 8},         // unknown dtype
      {R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8},       // negative dim
      {R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", 8},
      {R"({"w":{"dtype":"F32","shape":[2]}})", 8},                             // no offsets
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12},
  };
  for (const auto& [h, n] : bad) EXPECT_THROW(File::parse(make(h, n)), Error) << h;
  std::vector<uint8_t> huge(16, 0);
  const uint64_t n = 1ull << 50;
  std::memcpy(huge.data(), &n, 8);
  EXPECT_THROW(File::parse(huge), Error);
  EXPECT_THROW(File::parse(std::vector<uint8_t>(3, 0)), Error);
}

TEST(Safetensors, ReadsStories260K) {
  RS_REQUIRE_SHARED();
  auto f = File::open((test::shared_dir() / "models/stories260K-hf/model.safetensors").string());
  const Tensor* e = f->tensor("model.embed_tokens.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(e->dtype, DType::F32);
}

}  // namespace
}  // namespace rs::safetensors
