// The router file rejects every truncation, flipped byte, wrong magic and wrong version with an
// rs::Error (never a crash), and round-trips exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "router/router_file.h"
#include "router/router_training.h"
#include "router_test_data.h"

namespace rs::router {
namespace {

ClassifierParts small_parts() {
  RouterTrainOptions o;
  o.l2_grid = {1e-4};
  o.epochs = 2;
  o.features = {10, 1, 3, 3};  // small file, so that every truncation can be tried
  return train_router(test::toy_intents(6), {}, o).parts();
}

std::string message(std::span<const uint8_t> b) {
  try {
    parse_router(b, "t.router");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RouterFile, RoundTrip) {
  const ClassifierParts p = small_parts();
  const auto bytes = serialize_router(p);
  const ClassifierParts q = parse_router(bytes, "t.router");
  EXPECT_EQ(q.labels, p.labels);
  EXPECT_EQ(q.head.weights, p.head.weights);
  EXPECT_EQ(q.head.bias, p.head.bias);
  EXPECT_EQ(q.tfidf.buckets(), p.tfidf.buckets());
  EXPECT_EQ(q.tfidf.idf(), p.tfidf.idf());
  EXPECT_EQ(q.oos_class, p.oos_class);
  EXPECT_EQ(serialize_router(q), bytes);
}

TEST(RouterFile, EveryTruncationIsAnError) {
  const auto bytes = serialize_router(small_parts());
  for (size_t n = 0; n < bytes.size(); n += 1 + n / 64)
    EXPECT_FALSE(message(std::span(bytes).first(n)).empty()) << n;
}

TEST(RouterFile, CorruptBytesAreErrors) {
  const auto good = serialize_router(small_parts());
  for (size_t i = 0; i < good.size(); i += 1 + i / 32) {
    auto b = good;
    b[i] ^= 0x5a;
    EXPECT_FALSE(message(b).empty()) << i;
  }
  auto b = good;
  b[0] = 'X';
  EXPECT_NE(message(b).find("not a router file"), std::string::npos);
  b = good;
  b[8] = 9;  // version
  EXPECT_NE(message(b).find("version 9"), std::string::npos);
  b = good;
  b[good.size() / 2] ^= 1;
  EXPECT_NE(message(b).find("checksum"), std::string::npos);
}

TEST(RouterFile, MissingFileIsAnError) {
  EXPECT_THROW(read_router_file("/nonexistent/x.router"), Error);
  const auto path = (std::filesystem::temp_directory_path() / "rs_empty.router").string();
  std::ofstream(path).close();
  EXPECT_THROW(read_router_file(path), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace rs::router
