#include "train/labeled_text.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace rs::train {

std::vector<LabeledText> read_labeled_jsonl(const std::string& path, bool require_labels) {
  std::ifstream in(path, std::ios::binary);
  RS_CHECK(in.good(), "cannot open '{}'", path);
  std::vector<LabeledText> rows;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("{}:{}: not a JSON line ({})", path, n, e.what());
    }
    RS_CHECK(j.is_object(), "{}:{}: expected an object {{\"text\", \"label\"}}", path, n);
    const auto t = j.find("text");
    RS_CHECK(t != j.end() && t->is_string(), "{}:{}: missing string field \"text\"", path, n);
    LabeledText row{t->get<std::string>(), "", n};
    const auto l = j.find("label");
    if (l != j.end() && !l->is_null()) {
      RS_CHECK(l->is_string(), "{}:{}: \"label\" must be a string", path, n);
      row.label = l->get<std::string>();
    }
    RS_CHECK(!require_labels || !row.label.empty(), "{}:{}: missing or empty \"label\"", path, n);
    rows.push_back(std::move(row));
  }
  RS_CHECK(!rows.empty(), "'{}' has no rows", path);
  return rows;
}

bool has_labels(const std::vector<LabeledText>& rows) {
  for (const auto& r : rows)
    if (!r.label.empty()) return true;
  return false;
}

}  // namespace rs::train
