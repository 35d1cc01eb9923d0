#include "tokenizer/unicode_data.h"

#include <algorithm>
#include <array>

#include "core/utf8.h"

namespace rs::tok::unicode {

uint16_t flags(uint32_t cp) {
  using detail::kFlagRanges;
  const auto* end = kFlagRanges + detail::kFlagRanges_size;
  // Last range whose start <= cp.
  const auto* it = std::upper_bound(
      kFlagRanges, end, cp, [](uint32_t v, const detail::FlagRange& r) { return v < r.start; });
  if (it == kFlagRanges) return 0;
  if (cp >= 0x110000) return kControl;
  return (it - 1)->flags;
}

uint32_t to_lower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const auto* begin = detail::kLowerMap;
  const auto* end = begin + detail::kLowerMap_size;
  const auto* it = std::lower_bound(
      begin, end, cp, [](const detail::CodepointPair& p, uint32_t v) { return p.from < v; });
  return (it != end && it->from == cp) ? it->to : cp;
}

uint32_t nfd_first(uint32_t cp) {
  if (cp < 0xC0) return cp;
  const auto* begin = detail::kNfdRanges;
  const auto* end = begin + detail::kNfdRanges_size;
  const auto* it = std::upper_bound(
      begin, end, cp, [](uint32_t v, const detail::NfdRange& r) { return v < r.first; });
  if (it == begin) return cp;
  --it;
  return (cp >= it->first && cp <= it->last) ? it->nfd : cp;
}

namespace {

struct ByteMap {
  std::array<std::string, 256> to_unicode;
  std::array<int, 512> from_unicode{};  // every mapped code point is < 0x144
  ByteMap() {
    from_unicode.fill(-1);
    auto printable = [](int b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : 256u + next++;
      to_unicode[b] = utf8::encode(cp);
      from_unicode[cp] = b;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t b) {
  return byte_map().to_unicode[b];
}

int unicode_to_byte(uint32_t cp) {
  return cp < byte_map().from_unicode.size() ? byte_map().from_unicode[cp] : -1;
}

}  // namespace rs::tok::unicode
