#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/dataset.h"
#include "test_util.h"

namespace rs::eval {
namespace {

std::string write_tmp(const std::string& name, const std::string& body) {
  const auto p = std::filesystem::temp_directory_path() / ("rs_dataset_test_" + name);
  std::ofstream(p, std::ios::binary) << body;
  return p.string();
}

std::string error_of(const std::string& path, EvalTask t) {
  try {
    load_eval_data(path, t);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(EvalData, Classify) {
  const auto p =
      write_tmp("c.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\r\n\n{\"text\":\"b\",\"label\":3}\n");
  const auto rows = load_eval_data(p, EvalTask::kClassify);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].label, "3");
  EXPECT_EQ(rows[1].line, 3);
}

TEST(EvalData, ErrorsNameTheLine) {
  EXPECT_NE(error_of(write_tmp("e1", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\"}\n"),
                     EvalTask::kClassify)
                .find("line 2: missing \"label\""),
            std::string::npos);
  EXPECT_NE(error_of(write_tmp("e2", "{\"text\": oops}\n"), EvalTask::kClassify)
                .find("line 1: not valid JSON"),
            std::string::npos);
  EXPECT_NE(
      error_of(write_tmp("e3", "[1,2]\n"), EvalTask::kGenerate).find("expected a JSON object"),
      std::string::npos);
  EXPECT_NE(error_of(write_tmp("e4", "{\"text\":\"d\"}\n"), EvalTask::kSummarize)
                .find("missing \"references\""),
            std::string::npos);
  EXPECT_NE(error_of(write_tmp("e5", "\n\n"), EvalTask::kGenerate).find("no examples"),
            std::string::npos);
  EXPECT_NE(error_of("/nonexistent/x.jsonl", EvalTask::kGenerate).find("cannot open"),
            std::string::npos);
}

TEST(EvalData, DialogSumFields) {
  RS_REQUIRE_SHARED();
  const auto rows = load_eval_data((test::shared_dir() / "datasets/dialogsum/test.jsonl").string(),
                                   EvalTask::kSummarize);
  ASSERT_EQ(rows.size(), 500u);
  EXPECT_EQ(rows[0].references.size(), 3u);
  EXPECT_EQ(rows[0].text.rfind("#Person1#: Ms. Dawson", 0), 0u);
}

TEST(EvalData, PromptTemplate) {
  EXPECT_EQ(fill_prompt("L: {labels}\n{{x}} {text}", "hi", {"a", "b"}), "L: a, b\n{x} hi");
  EXPECT_THROW(fill_prompt("{nope}", "", {}), Error);
  EXPECT_THROW(fill_prompt("{text", "", {}), Error);
}

}  // namespace
}  // namespace rs::eval
