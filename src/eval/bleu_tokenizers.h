// sacrebleu's BLEU tokenizers: "13a" (mteval-v13a.pl, sacrebleu's default), "intl"
// (mteval-v14.pl --international-tokenization), "char" and "none". Each returns the line as
// sacrebleu's tokenizer object returns it: tokens joined by single spaces.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rs::eval {

enum class BleuTokenizer { k13a, kIntl, kChar, kNone };

// "13a", "intl", "char", "none"; nullopt for anything else.
std::optional<BleuTokenizer> parse_bleu_tokenizer(std::string_view name);
const char* bleu_tokenizer_name(BleuTokenizer tok);

// Tokenizes one segment. Input must be valid UTF-8 (rs::Error otherwise, for "intl").
std::string bleu_tokenize(std::string_view line, BleuTokenizer tok);

}  // namespace rs::eval
