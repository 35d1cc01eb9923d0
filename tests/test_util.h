// Helpers shared by every test suite: where the shared reference files live.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace rs::test {

// The folder with the shared models and reference outputs (RIGHTSIZE_SHARED_DIR), or "" when it
// is absent. Use RS_REQUIRE_SHARED() at the top of a test that needs it.
std::filesystem::path shared_dir();

// Reads a whole file into a string; fails the test when it cannot.
std::string read_file(const std::filesystem::path& path);

}  // namespace rs::test

#define RS_REQUIRE_SHARED()                                                             \
  do {                                                                                  \
    if (rs::test::shared_dir().empty())                                                 \
      GTEST_SKIP() << "shared/ test data not found: set RIGHTSIZE_SHARED_DIR to the "   \
                      "folder with models/, oracle/ and vocab/";                        \
  } while (0)
