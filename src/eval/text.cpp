#include "eval/text.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/error.h"
#include "core/utf8.h"

namespace rs::eval {
namespace {

// Decodes the code point that starts at s[i] and advances i; an invalid byte decodes as U+FFFD
// and advances by one, so callers never loop forever on bad input.
uint32_t next_cp(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t len = utf8::seq_len(c);
  if (len == 1 || i + len > s.size()) {
    ++i;
    return c < 0x80 ? c : 0xFFFD;
  }
  uint32_t cp = len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3Fu);
  }
  i += len;
  return cp;
}

// glibc's C.UTF-8 locale carries the whole Unicode case table and, unlike setlocale(), a locale
// object made with newlocale() changes no global state. Checked against CPython 3.11 over every
// code point: the simple mappings agree everywhere; only U+0130 (a one-to-two mapping) and the
// context-dependent final sigma need the special cases below.
locale_t utf8_locale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

uint32_t simple_lower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const locale_t loc = utf8_locale();
  if (!loc) return cp;
  return static_cast<uint32_t>(towlower_l(static_cast<wint_t>(cp), loc));
}

bool is_cased(uint32_t cp) {
  const locale_t loc = utf8_locale();
  if (cp < 0x80 || !loc) return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
  const auto w = static_cast<wint_t>(cp);
  return towlower_l(w, loc) != w || towupper_l(w, loc) != w;
}

// Unicode's Case_Ignorable, reduced to the characters that occur inside words in practice
// (apostrophes, periods, colons, soft hyphen, modifier letters, combining marks, zero-width
// format characters). Only the final-sigma rule uses it.
bool is_case_ignorable(uint32_t cp) {
  static constexpr uint32_t kSingles[] = {0x27, 0x2E, 0x3A, 0x5E,   0x60,   0xA8,   0xAD,  0xAF,
                                          0xB4, 0xB7, 0xB8, 0x2018, 0x2019, 0x2024, 0x2027};
  if (std::find(std::begin(kSingles), std::end(kSingles), cp) != std::end(kSingles)) return true;
  return (cp >= 0x2B0 && cp <= 0x36F) || (cp >= 0x483 && cp <= 0x489) ||
         (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE20 && cp <= 0xFE2F);
}

}  // namespace

bool is_py_space(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  static constexpr uint32_t kSingles[] = {0x85,   0xA0,   0x1680, 0x2028,
                                          0x2029, 0x202F, 0x205F, 0x3000};
  if (std::find(std::begin(kSingles), std::end(kSingles), cp) != std::end(kSingles)) return true;
  return cp >= 0x2000 && cp <= 0x200A;
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0, start = std::string_view::npos;
  while (i < s.size()) {
    const size_t at = i;
    const auto c = static_cast<unsigned char>(s[i]);
    const bool space = c < 0x80 ? (++i, is_py_space(c)) : is_py_space(next_cp(s, i));
    if (space) {
      if (start != std::string_view::npos) out.emplace_back(s.substr(start, at - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = at;
    }
  }
  if (start != std::string_view::npos) out.emplace_back(s.substr(start));
  return out;
}

std::string_view rstrip_ws(std::string_view s) {
  size_t i = 0, keep = 0;
  while (i < s.size())
    if (!is_py_space(next_cp(s, i))) keep = i;
  return s.substr(0, keep);
}

std::u32string to_u32(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) out.push_back(next_cp(s, i));
  return out;
}

std::string to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) utf8::append(out, cp);
  return out;
}

std::string py_lower(std::string_view s) {
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string out(s);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
  }
  const std::u32string cps = to_u32(s);
  std::string out;
  out.reserve(s.size() + 4);
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t cp = cps[i];
    if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE lowercases to two code points
      out += 'i';
      utf8::append(out, 0x307);
    } else if (cp == 0x3A3) {
      // Final sigma: preceded by a cased letter and not followed by one (case-ignorable
      // characters in between are skipped), as CPython's handle_capital_sigma decides.
      size_t j = i;
      while (j > 0 && is_case_ignorable(cps[j - 1])) --j;
      bool final_sigma = j > 0 && is_cased(cps[j - 1]);
      if (final_sigma) {
        size_t k = i + 1;
        while (k < cps.size() && is_case_ignorable(cps[k])) ++k;
        final_sigma = k == cps.size() || !is_cased(cps[k]);
      }
      utf8::append(out, final_sigma ? 0x3C2 : 0x3C3);
    } else {
      utf8::append(out, simple_lower(cp));
    }
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RS_CHECK(in.good(), "cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  RS_CHECK(!in.bad(), "cannot read '{}'", path);
  const std::string text = ss.str();
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const bool last = end == std::string::npos;
    if (last) end = text.size();
    size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;
    std::string line = text.substr(start, stop - start);
    if (auto bad = utf8::find_invalid(line))
      fail("'{}' line {}: not valid UTF-8 (bad byte 0x{:02x} at column {}); re-encode it as UTF-8",
           path, lines.size() + 1, static_cast<unsigned char>(line[*bad]), *bad + 1);
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

}  // namespace rs::eval
