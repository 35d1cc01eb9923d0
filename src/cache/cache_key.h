// Cache keys: the SHA-256 of a canonical request text (the server builds it from the normalised
// messages, sampling parameters, model/route/adapter and tenant), so keys have a fixed size in
// every back end and a request's text is never stored as a key.
#pragma once

#include <string>
#include <string_view>

namespace rs::cache {

std::string sha256_hex(std::string_view data);  // 64 lowercase hex digits
// Trims and collapses every run of ASCII whitespace to one space: "Hi  there\n" == "Hi there".
// Case, punctuation and Unicode are kept (they can change the answer).
std::string normalize_text(std::string_view text);

}  // namespace rs::cache
