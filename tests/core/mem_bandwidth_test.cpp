// The bandwidth probe and the progress bar's duration format (speed itself is proven in
// `rightsize bench`, not asserted in unit tests).
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/mem_bandwidth.h"
#include "core/progress.h"
#include "core/thread_pool.h"

namespace rs {
namespace {

TEST(MemBandwidth, ReportsAPlausibleFigure) {
  ThreadPool pool(2);
  const BandwidthResult r = measure_read_bandwidth(pool, size_t{16} << 20, 2);
  EXPECT_EQ(r.bytes, size_t{16} << 20);
  EXPECT_EQ(r.passes, 2);
  EXPECT_EQ(r.threads, 2);
  EXPECT_GT(r.gb_per_s, 0.1);
  EXPECT_LT(r.gb_per_s, 10000.0);
}

TEST(MemBandwidth, RejectsTinyBuffers) {
  ThreadPool pool(1);
  EXPECT_THROW(measure_read_bandwidth(pool, 1024, 1), Error);
  EXPECT_THROW(measure_read_bandwidth(pool, size_t{1} << 20, 0), Error);
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(ProgressBar::format_duration(3.2), "3s");
  EXPECT_EQ(ProgressBar::format_duration(125), "2m05s");
  EXPECT_EQ(ProgressBar::format_duration(3720), "1h02m");
  EXPECT_EQ(ProgressBar::format_duration(-1), "?");
}

}  // namespace
}  // namespace rs
