// GGUF reader and writer: round trips of every value type, real files from shared/, and corrupt
// inputs that must end in rs::Error (never a crash).
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "formats/gguf.h"
#include "test_util.h"

namespace rs::gguf {
namespace {

std::vector<uint8_t> sample_file() {
  Writer w;
  w.set("general.architecture", Value::of_string("llama"));
  w.set("u32", Value::of_u32(7));
  w.set("i32", Value::of_i32(-3));
  w.set("u64", Value::of_u64(1ull << 40));
  w.set("f32", Value::of_f32(0.5f));
  w.set("flag", Value::of_bool(true));
  w.set("names", Value::of_strings({"a", "", "ünï"}));
  w.set("scores", Value::of_f32s({1.5f, -2.0f}));
  w.set("ids", Value::of_i32s({1, -1, 3}));
  Value u8;
  u8.type = ValueType::UINT8;
  u8.i = 255;
  w.set("u8", u8);
  Value f64;
  f64.type = ValueType::FLOAT64;
  f64.f = 1e-300;
  w.set("f64", f64);
  Value nested;
  nested.type = ValueType::ARRAY;
  nested.elem_type = ValueType::ARRAY;
  nested.nested = {Value::of_i32s({1, 2}), Value::of_strings({"x"})};
  w.set("nested", nested);
  std::vector<float> data(64);
  for (int i = 0; i < 64; ++i) data[i] = static_cast<float>(i);
  std::vector<uint8_t> bytes(256);
  std::memcpy(bytes.data(), data.data(), 256);
  w.add_tensor("t0", DType::F32, {16, 4}, bytes);
  w.add_tensor("t1", DType::Q8_0, {32}, std::vector<uint8_t>(34, 1));
  return w.to_bytes();
}

TEST(Gguf, RoundTripsEveryValueType) {
  const auto bytes = sample_file();
  auto f = File::parse(bytes);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(*f->get_string("general.architecture"), "llama");
  EXPECT_EQ(*f->get_uint("u32"), 7u);
  EXPECT_EQ(*f->get_int("i32"), -3);
  EXPECT_EQ(*f->get_uint("u64"), 1ull << 40);
  EXPECT_EQ(*f->get_float("f32"), 0.5);
  EXPECT_EQ(*f->get_bool("flag"), true);
  EXPECT_EQ(*f->get_uint("u8"), 255u);
  EXPECT_EQ(*f->get_float("f64"), 1e-300);
  EXPECT_EQ(*f->get_strings("names"), (std::vector<std::string>{"a", "", "ünï"}));
  EXPECT_EQ(*f->get_floats("scores"), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(*f->get_ints("ids"), (std::vector<int64_t>{1, -1, 3}));
  const Value* n = f->find("nested");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->nested.size(), 2u);
  EXPECT_EQ(n->nested[1].strs[0], "x");
  EXPECT_EQ(f->find("missing"), nullptr);
  EXPECT_THROW(f->get_string("u32"), Error);

  ASSERT_EQ(f->tensors().size(), 2u);
  const TensorInfo* t0 = f->tensor("t0");
  ASSERT_NE(t0, nullptr);
  EXPECT_EQ(t0->ne, (std::vector<int64_t>{16, 4}));
  EXPECT_EQ(t0->nbytes, 256u);
  EXPECT_EQ(static_cast<size_t>(t0->data - bytes.data()) % 32, 0u) << "tensor data is aligned";
  float v;
  std::memcpy(&v, t0->data + 4 * 63, 4);
  EXPECT_EQ(v, 63.0f);
  EXPECT_EQ(f->tensor("t1")->nbytes, 34u);

  // Writing what was read gives the same bytes.
  Writer w;
  for (const auto& [k, val] : f->metadata()) w.set(k, val);
  for (const auto& t : f->tensors()) w.add_tensor_view(t.name, t.type, t.ne, {t.data, t.nbytes});
  EXPECT_EQ(w.to_bytes(), bytes);
}

TEST(Gguf, WritesToDiskAtomically) {
  const auto path = std::filesystem::temp_directory_path() / "rightsize_gguf_test.gguf";
  Writer w;
  w.set("k", Value::of_u32(1));
  w.add_tensor("t", DType::F32, {2}, std::vector<uint8_t>(8, 0));
  w.write(path.string());
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  auto f = File::open(path.string());
  EXPECT_EQ(*f->get_uint("k"), 1u);
  // A tensor whose data does not match its shape is refused before anything is written.
  Writer bad;
  bad.add_tensor("t", DType::F32, {3}, std::vector<uint8_t>(8, 0));
  EXPECT_THROW(bad.write(path.string() + ".bad"), Error);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".bad"));
  EXPECT_THROW(w.write("/nonexistent-dir/x.gguf"), Error);
  std::filesystem::remove(path);
}

TEST(Gguf, ReadsVersion2) {
  auto bytes = sample_file();
  bytes[4] = 2;  // v2 has the same layout as v3 (64-bit counts)
  EXPECT_EQ(File::parse(bytes)->version(), 2u);
}

template <typename T>
void poke(std::vector<uint8_t>& b, size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof v);
}

TEST(Gguf, RejectsCorruptFiles) {
  const auto good = sample_file();
  auto expect_error = [](std::vector<uint8_t> b, const char* what) {
    try {
      File::parse(b);
      ADD_FAILURE() << what << ": accepted";
    } catch (const Error& e) {
      EXPECT_FALSE(std::string(e.what()).empty()) << what;
    }
  };
  expect_error({}, "empty");
  expect_error({'G', 'G', 'U'}, "3 bytes");
  {
    auto b = good;
    b[0] = 'X';
    expect_error(b, "wrong magic");
  }
  {
    auto b = good;
    poke<uint32_t>(b, 4, 1);
    expect_error(b, "version 1");
  }
  {
    auto b = good;
    poke<uint32_t>(b, 4, 99);
    expect_error(b, "version 99");
  }
  {
    auto b = good;
    poke<uint64_t>(b, 8, 1ull << 60);
    expect_error(b, "absurd tensor count");
  }
  {
    auto b = good;
    poke<uint64_t>(b, 16, 1ull << 60);
    expect_error(b, "absurd kv count");
  }
  {
    auto b = good;
    poke<uint64_t>(b, 24, 1ull << 62);  // length of the first key
    expect_error(b, "string longer than the file");
  }
  // (The last 30 bytes are padding after the final tensor, so cut before them.)
  for (size_t cut : {30ul, 100ul, good.size() / 2, good.size() - 31}) {
    std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<long>(cut));
    expect_error(b, "truncated");
  }
}

// Finds the byte offset of a tensor info's fields by locating its name in the header.
size_t tensor_info_offset(const std::vector<uint8_t>& b, const std::string& name) {
  for (size_t i = 8; i + name.size() < b.size(); ++i)
    if (std::memcmp(b.data() + i, name.data(), name.size()) == 0) {
      uint64_t len;
      std::memcpy(&len, b.data() + i - 8, 8);
      if (len == name.size()) return i + name.size();
    }
  return 0;
}

TEST(Gguf, RejectsBadTensorInfos) {
  const auto good = sample_file();
  const size_t at = tensor_info_offset(good, "t0");  // u32 n_dims, u64 ne[2], u32 type, u64 offset
  ASSERT_GT(at, 0u);
  auto expect_error = [](const std::vector<uint8_t>& b, const char* what) {
    EXPECT_THROW(File::parse(b), Error) << what;
  };
  auto b = good;
  poke<uint32_t>(b, at, 9);
  expect_error(b, "9 dimensions");
  b = good;
  poke<uint64_t>(b, at + 4, 1ull << 62);
  expect_error(b, "absurd dimension");
  b = good;
  poke<int64_t>(b, at + 4, -5);
  expect_error(b, "negative dimension");
  b = good;
  poke<uint32_t>(b, at + 20, 77);
  expect_error(b, "unknown type");
  b = good;
  poke<uint64_t>(b, at + 24, 1ull << 20);
  expect_error(b, "offset past the end");
  b = good;
  poke<uint64_t>(b, at + 24, 3);
  expect_error(b, "misaligned offset");
  b = good;
  poke<uint64_t>(b, at + 4, 1000);
  expect_error(b, "data runs past the end");
}

TEST(Gguf, ReadsEveryOracleModel) {
  RS_REQUIRE_SHARED();
  for (const auto& e : std::filesystem::directory_iterator(test::shared_dir() / "oracle/models")) {
    auto f = File::open(e.path().string());
    EXPECT_GT(f->tensors().size(), 0u) << e.path();
    EXPECT_TRUE(f->get_string("general.architecture")) << e.path();
    uint64_t end = 0;
    for (const auto& t : f->tensors()) end = std::max<uint64_t>(end, (t.data - f->tensors()[0].data) + t.nbytes);
    EXPECT_LE(end, f->file_size());
  }
  auto vocab = File::open((test::shared_dir() / "oracle/vocab/ggml-vocab-llama-bpe.gguf").string());
  EXPECT_EQ(vocab->get_strings("tokenizer.ggml.tokens")->size(), 128256u);
}

TEST(Gguf, ReportsMissingFile) {
  try {
    File::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

}  // namespace
}  // namespace rs::gguf
