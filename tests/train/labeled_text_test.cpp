// Reading labeled JSON Lines: good rows, and an error naming the line for each kind of bad row.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "train/labeled_text.h"

namespace rs::train {
namespace {

std::string write_tmp(const std::string& name, const std::string& body) {
  const auto p = std::filesystem::temp_directory_path() / ("rs_labeled_" + name + ".jsonl");
  std::ofstream(p) << body;
  return p.string();
}

std::string error_of(const std::string& path, bool require) {
  try {
    read_labeled_jsonl(path, require);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LabeledText, ReadsRowsAndSkipsBlankLines) {
  const auto p =
      write_tmp("ok", "{\"text\":\"hi\",\"label\":\"greet\",\"x\":1}\n\n{\"text\":\"q\"}\n");
  const auto rows = read_labeled_jsonl(p, false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].label, "greet");
  EXPECT_EQ(rows[1].label, "");
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_TRUE(has_labels(rows));
  EXPECT_NE(error_of(p, true).find(":3: missing or empty \"label\""), std::string::npos);
}

TEST(LabeledText, BadRowsNameTheLine) {
  EXPECT_NE(
      error_of(write_tmp("bad", "{\"text\":\"a\"}\nnot json\n"), false).find(":2: not a JSON"),
      std::string::npos);
  EXPECT_NE(error_of(write_tmp("notext", "{\"label\":\"a\"}\n"), false).find("\"text\""),
            std::string::npos);
  EXPECT_NE(error_of(write_tmp("numlabel", "{\"text\":\"a\",\"label\":3}\n"), false).find("string"),
            std::string::npos);
  EXPECT_NE(error_of(write_tmp("empty", "\n"), false).find("no rows"), std::string::npos);
  EXPECT_NE(error_of("/nonexistent/x.jsonl", false).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace rs::train
