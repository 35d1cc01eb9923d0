// Labeled text for classifiers: JSON Lines rows {"text": "...", "label": "..."} (the shape of the
// shared classification data sets). Other fields are ignored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rs::train {

struct LabeledText {
  std::string text;
  std::string label;  // "" when the row has none (only allowed with require_labels = false)
  int64_t line = 0;   // 1-based line in the file, for error messages
};

// Reads every non-blank line. rs::Error naming the file and line for a missing file, malformed
// JSON, a row that is not an object, a missing or non-string "text", or (with require_labels) a
// missing or empty "label".
std::vector<LabeledText> read_labeled_jsonl(const std::string& path, bool require_labels);

// True when at least one row carries a label.
bool has_labels(const std::vector<LabeledText>& rows);

}  // namespace rs::train
