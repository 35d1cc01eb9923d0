// WordNet's irregular inflections ("went" -> "go", "children" -> "child"), which ROUGE-1.5.5's
// stemming (-m) applies before its Porter stemmer. The table is generated from WordNet 3.0 by
// gen_wordnet_exceptions.py; ROUGE-1.5.5 ships WordNet 2.0's, of which 3.0's is a near-superset.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace rs::eval {

// The base form for an inflected form longer than 3 characters, or nullopt.
std::optional<std::string_view> wordnet_exception(std::string_view word);
size_t wordnet_exception_count();

}  // namespace rs::eval
