// Python-compatible splitting and lowercasing, and the line reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/text.h"

namespace rs::eval {
namespace {

TEST(Text, SplitsLikePythonStrSplit) {
  EXPECT_EQ(split_ws("  a b\t\tc\n"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_ws("x\u00a0y\u3000z\x1fw"), (std::vector<std::string>{"x", "y", "z", "w"}));
  EXPECT_EQ(split_ws("caf\u00e9 \u65e5\u672c"),
            (std::vector<std::string>{"caf\u00e9", "\u65e5\u672c"}));
  EXPECT_TRUE(split_ws(" \u2003 ").empty());
  EXPECT_EQ(rstrip_ws("ab \u00a0\n"), "ab");
}

TEST(Text, LowercasesLikePython) {
  EXPECT_EQ(py_lower("ABC def"), "abc def");
  EXPECT_EQ(py_lower("Producția ĂÎȘ"), "producția ăîș");
  EXPECT_EQ(py_lower("\u0130"), "i\u0307");
  EXPECT_EQ(py_lower("ΟΔΟΣ Σ"), "οδος σ");  // final sigma only after a letter
}

TEST(Text, ReadsLinesAndRejectsBadUtf8) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto good = dir / "rs_eval_lines.txt";
  std::ofstream(good, std::ios::binary) << "one\r\ntwo\nthree";
  EXPECT_EQ(read_lines(good.string()), (std::vector<std::string>{"one", "two", "three"}));
  std::ofstream(good, std::ios::binary) << "one\n\ntwo\n";
  EXPECT_EQ(read_lines(good.string()), (std::vector<std::string>{"one", "", "two"}));
  std::ofstream(good, std::ios::binary) << "ok\nbad \xff byte\n";
  try {
    read_lines(good.string());
    ADD_FAILURE() << "invalid UTF-8 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  std::filesystem::remove(good);
  EXPECT_THROW(read_lines((dir / "rs_eval_no_such_file.txt").string()), Error);
}

}  // namespace
}  // namespace rs::eval
