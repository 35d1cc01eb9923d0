#include "eval/label_match.h"

#include <map>

#include "core/error.h"

namespace rs::eval {

std::string normalize_label(std::string_view s) {
  std::string out;
  bool space = false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

LabelMatcher::LabelMatcher(std::vector<std::string> labels) : labels_(std::move(labels)) {
  std::map<std::string, std::string> seen;
  for (const auto& l : labels_) {
    norm_.push_back(normalize_label(l));
    RS_CHECK(!norm_.back().empty(),
             "label '{}' has no letters or digits to match an answer against", l);
    auto [it, fresh] = seen.emplace(norm_.back(), l);
    RS_CHECK(fresh, "labels '{}' and '{}' look the same to the answer matcher", it->second, l);
  }
}

std::optional<std::string> LabelMatcher::match(std::string_view answer) const {
  // Rule 1: the first non-blank line is exactly a label.
  size_t start = 0;
  while (start < answer.size()) {
    size_t end = answer.find('\n', start);
    if (end == std::string_view::npos) end = answer.size();
    const std::string first = normalize_label(answer.substr(start, end - start));
    if (!first.empty()) {
      for (size_t i = 0; i < norm_.size(); ++i)
        if (norm_[i] == first) return labels_[i];
      break;
    }
    start = end + 1;
  }
  // Rule 2: earliest whole-word occurrence, longest on ties.
  // Padded with spaces so that a whole-word match is a plain find of " label ". (Built with
  // append rather than operator+, which trips GCC 12's -Wrestrict false positive.)
  std::string text(1, ' ');
  text.append(normalize_label(answer)).push_back(' ');
  size_t best = std::string::npos, best_pos = std::string::npos;
  std::string pat;
  for (size_t i = 0; i < norm_.size(); ++i) {
    pat.assign(1, ' ');
    pat.append(norm_[i]).push_back(' ');
    const size_t pos = text.find(pat);
    if (pos == std::string::npos) continue;
    if (pos < best_pos || (pos == best_pos && norm_[i].size() > norm_[best].size())) {
      best = i;
      best_pos = pos;
    }
  }
  if (best == std::string::npos) return std::nullopt;
  return labels_[best];
}

}  // namespace rs::eval
