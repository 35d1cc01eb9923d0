// UTF-8 helpers shared by the tokenizers and the CLI's input checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rs::utf8 {

// Byte offset of the first invalid sequence, or nullopt when `s` is valid UTF-8 (no overlongs,
// no surrogates, nothing above U+10FFFF).
std::optional<size_t> find_invalid(std::string_view s);
inline bool is_valid(std::string_view s) { return !find_invalid(s).has_value(); }

// Length in bytes of the sequence that starts with lead byte `c` (1 for invalid lead bytes).
inline size_t seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 1;
}

// Decodes valid UTF-8 into code points (invalid bytes become U+FFFD).
std::vector<uint32_t> decode(std::string_view s);
void append(std::string& out, uint32_t cp);
std::string encode(uint32_t cp);

}  // namespace rs::utf8
