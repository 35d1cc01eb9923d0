// Turning a generative model's free text into one label of a fixed set, for `rightsize eval
// --task classify` against models that answer in words rather than with a classifier head.
//
// Normalisation (both sides): ASCII letters lowercased, every character that is not an ASCII
// letter or digit becomes a space, runs of spaces collapse, ends are trimmed. So the label
// "card_arrival" and the answers "Card arrival.", "card-arrival" and " CARD ARRIVAL\n" are equal.
//
// Matching, first rule that applies:
//   1. the first non-blank line of the answer, normalised, equals a normalised label;
//   2. otherwise the labels whose normalised form occurs in the normalised answer as whole words:
//      the one that occurs earliest wins, the longest on a tie ("card arrival" over "card");
//   3. otherwise no label: the answer is unmatched and scored as wrong.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rs::eval {

std::string normalize_label(std::string_view s);

class LabelMatcher {
 public:
  // rs::Error when two labels normalise to the same text (the answer could not tell them apart).
  explicit LabelMatcher(std::vector<std::string> labels);

  // The matched label (in its original spelling), or nullopt.
  std::optional<std::string> match(std::string_view answer) const;

  const std::vector<std::string>& labels() const { return labels_; }

 private:
  std::vector<std::string> labels_;
  std::vector<std::string> norm_;
};

}  // namespace rs::eval
