// core/: UTF-8 validation, dtype table, thread pool.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "core/utf8.h"

namespace rs {
namespace {

TEST(Utf8, FindsInvalidSequences) {
  EXPECT_TRUE(utf8::is_valid(""));
  EXPECT_TRUE(utf8::is_valid("plain ascii"));
  EXPECT_TRUE(utf8::is_valid("Ünïcödé 日本語 🚀"));
  EXPECT_EQ(utf8::find_invalid("ab\xff"), 2u);
  EXPECT_EQ(utf8::find_invalid("\xc3\x28"), 0u);          // bad continuation
  EXPECT_EQ(utf8::find_invalid("x\xe6\x97"), 1u);         // truncated
  EXPECT_EQ(utf8::find_invalid("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(utf8::find_invalid("\xed\xa0\x80"), 0u);      // surrogate U+D800
  EXPECT_EQ(utf8::find_invalid("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
}

TEST(Utf8, DecodesAndEncodes) {
  const std::string s = "aé日🚀";
  const auto cps = utf8::decode(s);
  EXPECT_EQ(cps, (std::vector<uint32_t>{0x61, 0xE9, 0x65E5, 0x1F680}));
  std::string back;
  for (auto cp : cps) utf8::append(back, cp);
  EXPECT_EQ(back, s);
  EXPECT_EQ(utf8::decode("\xff"), (std::vector<uint32_t>{0xFFFD}));
}

TEST(DType, BlockLayouts) {
  EXPECT_EQ(dtype_info(DType::Q4_0).block_bytes, 18u);
  EXPECT_EQ(dtype_info(DType::Q4_K).block_bytes, 144u);
  EXPECT_EQ(dtype_info(DType::Q6_K).block_bytes, 210u);
  EXPECT_EQ(row_bytes(dtype_info(DType::Q8_0), 64), 68u);
  EXPECT_FALSE(dtype_info(uint32_t{4}).has_value());  // ids 4 and 5 were removed from ggml
  EXPECT_EQ(dtype_from_name("Q4_K"), DType::Q4_K);
  EXPECT_EQ(dtype_from_name("bf16"), DType::BF16);
  EXPECT_FALSE(dtype_from_name("q9_9").has_value());
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (auto schedule : {ThreadPool::Schedule::Guided, ThreadPool::Schedule::Static}) {
    for (int threads : {1, 2, 3, 8}) {
      ThreadPool pool(threads);
      for (int64_t n : {0, 1, 2, 7, 1000, 3141}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> bad_thread{0};
        for (int rep = 0; rep < 3; ++rep)
          pool.parallel_for(
              n,
              [&](int64_t b, int64_t e, int thread) {
                if (thread < 0 || thread >= threads) bad_thread++;
                for (int64_t i = b; i < e; ++i) hits[i]++;
              },
              schedule);
        for (auto& h : hits) EXPECT_EQ(h.load(), 3) << threads << " threads, n " << n;
        EXPECT_EQ(bad_thread.load(), 0);
      }
    }
  }
}

// A thread that is held up (here: sleeping in each piece) leaves the rest of its static range to
// the others, who take it from the back.
TEST(ThreadPool, StaticRangesAreTakenOverFromTheBack) {
  ThreadPool pool(2);
  const int64_t n = 64;
  std::vector<int> owner(n, -1);
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e, int thread) {
        if (thread == 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        for (int64_t i = b; i < e; ++i) owner[i] = thread;
      },
      ThreadPool::Schedule::Static);
  // Thread 1 owned [32, 64) and slept in its first piece, [32, 48): thread 0 took the back.
  int by_zero = 0;
  for (int64_t i = 32; i < n; ++i) by_zero += owner[i] == 0;
  EXPECT_GT(by_zero, 0);
  for (int o : owner) EXPECT_NE(o, -1);
}

TEST(MappedFile, ReportsErrors) {
  EXPECT_THROW(MappedFile("/nonexistent/file"), Error);
  EXPECT_THROW(MappedFile("/"), Error);
}

}  // namespace
}  // namespace rs
