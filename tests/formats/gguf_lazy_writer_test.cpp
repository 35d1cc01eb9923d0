// Writer::add_tensor_lazy: tensors produced while the file is written give the same file as
// tensors handed over up front, producers run once each in tensor order, and a producer that
// returns the wrong size is an error that leaves no file behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "formats/gguf.h"

namespace rs::gguf {
namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

TEST(GgufLazyWriter, SameBytesAsEagerTensors) {
  Writer eager, lazy;
  for (Writer* w : {&eager, &lazy}) w->set("general.architecture", Value::of_string("llama"));
  eager.add_tensor("a", DType::F32, {4, 2}, pattern(32, 1));
  eager.add_tensor("b", DType::Q8_0, {32, 3}, pattern(3 * 34, 9));
  std::vector<std::string> order;
  lazy.add_tensor_lazy("a", DType::F32, {4, 2}, [&] {
    order.push_back("a");
    return pattern(32, 1);
  });
  lazy.add_tensor_lazy("b", DType::Q8_0, {32, 3}, [&] {
    order.push_back("b");
    return pattern(3 * 34, 9);
  });
  EXPECT_EQ(eager.to_bytes(), lazy.to_bytes());
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
  auto bytes = lazy.to_bytes();
  auto f = File::parse(bytes);
  ASSERT_NE(f->tensor("b"), nullptr);
  EXPECT_EQ(f->tensor("b")->nbytes, 3u * 34);
}

TEST(GgufLazyWriter, WrongSizeIsAnErrorAndLeavesNoFile) {
  const auto path = (std::filesystem::temp_directory_path() / "rs_lazy_writer_bad.gguf").string();
  Writer w;
  w.add_tensor_lazy("a", DType::F32, {4}, [] { return std::vector<uint8_t>(15); });
  EXPECT_THROW(w.write(path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace rs::gguf
