// A small synthetic intent data set for router tests: three intents with distinct vocabularies
// plus out-of-scope rows made of unrelated words.
#pragma once

#include <string>
#include <vector>

#include "train/labeled_text.h"

namespace rs::router::test {

inline std::vector<train::LabeledText> toy_intents(int per_class, int offset = 0) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"balance", {"what is my balance", "how much money do i have", "show account balance"}},
      {"transfer", {"send money to john", "transfer funds to savings", "wire cash to mom"}},
      {"card_lost", {"i lost my card", "my card was stolen", "block my missing card"}},
      {"oos", {"tell me a joke about cats", "who won the football game", "recipe for soup"}},
  };
  std::vector<train::LabeledText> rows;
  int64_t line = 1;
  for (int i = 0; i < per_class; ++i)
    for (const auto& [label, texts] : intents) {
      const int j = i + offset;
      rows.push_back(
          {texts[static_cast<size_t>(j) % texts.size()] + " please " + std::to_string(j % 7), label,
           line++});
    }
  return rows;
}

}  // namespace rs::router::test
