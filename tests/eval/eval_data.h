// Reference data for the eval tests: the shared metric vectors and the DialogSum baseline run
// (shared/metrics/, shared/datasets/dialogsum/).
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace rs::test {

inline nlohmann::json load_json(const std::string& rel) {
  return nlohmann::json::parse(read_file(shared_dir() / rel));
}

// The 500 BART summaries, split on '\n' like the reference runs did (the file has no trailing
// newline).
inline std::vector<std::string> dialogsum_hyps() {
  const std::string text =
      read_file(shared_dir() / "metrics/dialogsum_baseline_bart_test_output.txt");
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// Reference streams of datasets/dialogsum/test.jsonl: streams[k][i] = references[k] of row i.
inline std::vector<std::vector<std::string>> dialogsum_refs(size_t n_streams) {
  std::vector<std::vector<std::string>> streams(n_streams);
  const std::string text = read_file(shared_dir() / "datasets/dialogsum/test.jsonl");
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) {
      const auto row = nlohmann::json::parse(text.substr(start, end - start));
      for (size_t k = 0; k < n_streams; ++k)
        streams[k].push_back(row["references"][k].get<std::string>());
    }
    start = end + 1;
  }
  return streams;
}

// A value printed with `decimals` digits after the point matches when ours prints the same.
inline std::string fixed(double v, int decimals) {
  return fmt::format("{:.{}f}", v, decimals);
}

}  // namespace rs::test
