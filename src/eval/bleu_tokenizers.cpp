#include "eval/bleu_tokenizers.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <vector>

#include "core/error.h"
#include "eval/text.h"

namespace rs::eval {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos);
  s.swap(out);
}

std::string join_tokens(std::string_view s) {
  std::string out;
  for (const auto& t : split_ws(s)) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

// mteval-v13a's punctuation class [\{-\~\[-\` -\&\(-\+\:-\@\/]: {|}~ [\]^_` space!"#$%& ()*+
// :;<=>?@ and '/'. Note what is NOT in it: ' , - . (handled by the rules after it).
bool is_13a_punct(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '{' && u <= '~') || (u >= '[' && u <= '`') || (u >= ' ' && u <= '&') ||
         (u >= '(' && u <= '+') || (u >= ':' && u <= '@') || u == '/';
}

// The rules are written as byte scans instead of regexes. They give the same output as Python's
// re.sub on code points: every class involved is ASCII, a multi-byte character can only play
// the role of [^0-9], and its last byte sits exactly where the code point would.
std::string tokenize_13a(std::string_view line) {
  std::string s(line);
  replace_all(s, "<skipped>", "");
  replace_all(s, "-\n", "");
  replace_all(s, "\n", " ");
  replace_all(s, "&quot;", "\"");
  replace_all(s, "&amp;", "&");
  replace_all(s, "&lt;", "<");
  replace_all(s, "&gt;", ">");
  s = " " + s + " ";

  std::string a;  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
  a.reserve(s.size() * 2);
  for (char c : s) {
    if (is_13a_punct(c)) {
      a += ' ';
      a += c;
      a += ' ';
    } else {
      a += c;
    }
  }
  std::string b;  // ([^0-9])([\.,]) -> "\1 \2 "
  b.reserve(a.size() + 16);
  for (size_t i = 0; i < a.size();) {
    if (i + 1 < a.size() && !is_digit(a[i]) && (a[i + 1] == '.' || a[i + 1] == ',')) {
      b += a[i];
      b += ' ';
      b += a[i + 1];
      b += ' ';
      i += 2;
    } else {
      b += a[i++];
    }
  }
  std::string c;  // ([\.,])([^0-9]) -> " \1 \2"
  c.reserve(b.size() + 16);
  for (size_t i = 0; i < b.size();) {
    if (i + 1 < b.size() && (b[i] == '.' || b[i] == ',') && !is_digit(b[i + 1])) {
      c += ' ';
      c += b[i];
      c += ' ';
      c += b[i + 1];
      i += 2;
    } else {
      c += b[i++];
    }
  }
  std::string d;  // ([0-9])(-) -> "\1 \2 "
  d.reserve(c.size() + 16);
  for (size_t i = 0; i < c.size();) {
    if (i + 1 < c.size() && is_digit(c[i]) && c[i + 1] == '-') {
      d += c[i];
      d += ' ';
      d += '-';
      d += ' ';
      i += 2;
    } else {
      d += c[i++];
    }
  }
  return join_tokens(d);
}

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using Code = std::unique_ptr<pcre2_code, CodeDeleter>;

Code compile(const char* pattern) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
  if (!c) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    fail("internal: cannot compile tokenizer regex '{}': {}", pattern,
         reinterpret_cast<char*>(msg));
  }
  return Code(c);
}

// Global substitution with PCRE2's leftmost, non-overlapping semantics: the same as the Python
// `regex` module's sub() that sacrebleu uses for these patterns.
std::string substitute(const pcre2_code* re, const std::string& in, const char* replacement) {
  std::vector<PCRE2_UCHAR> buf(in.size() * 3 + 64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    PCRE2_SIZE out_len = buf.size();
    const int rc = pcre2_substitute(re, reinterpret_cast<PCRE2_SPTR>(in.data()), in.size(), 0,
                                    PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH,
                                    nullptr, nullptr, reinterpret_cast<PCRE2_SPTR>(replacement),
                                    PCRE2_ZERO_TERMINATED, buf.data(), &out_len);
    if (rc >= 0) return std::string(reinterpret_cast<const char*>(buf.data()), out_len);
    if (rc == PCRE2_ERROR_NOMEMORY) {
      buf.resize(out_len + 1);
      continue;
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof(msg));
    fail("intl tokenizer: {} (is the text valid UTF-8?)", reinterpret_cast<char*>(msg));
  }
  fail("intl tokenizer: output buffer sizing failed");
}

// mteval-v14's international tokenization: punctuation next to a non-digit and every symbol
// becomes its own token. Needs Unicode general categories, hence PCRE2 with UCP.
std::string tokenize_intl(std::string_view line) {
  static const Code punct_after = compile("(\\P{N})(\\p{P})");
  static const Code punct_before = compile("(\\p{P})(\\P{N})");
  static const Code symbol = compile("(\\p{S})");
  std::string s(line);
  s = substitute(punct_after.get(), s, "$1 $2 ");
  s = substitute(punct_before.get(), s, " $1 $2");
  s = substitute(symbol.get(), s, " $1 ");
  return join_tokens(s);
}

// Every character is a token; whitespace disappears in the final split.
std::string tokenize_char(std::string_view line) {
  std::string out;
  for (char32_t cp : to_u32(line)) {
    if (is_py_space(cp)) continue;
    if (!out.empty()) out += ' ';
    out += to_utf8(std::u32string_view(&cp, 1));
  }
  return out;
}

}  // namespace

std::optional<BleuTokenizer> parse_bleu_tokenizer(std::string_view name) {
  if (name == "13a") return BleuTokenizer::k13a;
  if (name == "intl") return BleuTokenizer::kIntl;
  if (name == "char") return BleuTokenizer::kChar;
  if (name == "none") return BleuTokenizer::kNone;
  return std::nullopt;
}

const char* bleu_tokenizer_name(BleuTokenizer tok) {
  switch (tok) {
    case BleuTokenizer::k13a:
      return "13a";
    case BleuTokenizer::kIntl:
      return "intl";
    case BleuTokenizer::kChar:
      return "char";
    case BleuTokenizer::kNone:
      return "none";
  }
  return "?";
}

std::string bleu_tokenize(std::string_view line, BleuTokenizer tok) {
  switch (tok) {
    case BleuTokenizer::k13a:
      return tokenize_13a(line);
    case BleuTokenizer::kIntl:
      return tokenize_intl(line);
    case BleuTokenizer::kChar:
      return tokenize_char(line);
    case BleuTokenizer::kNone:
      return std::string(line);
  }
  return std::string(line);
}

}  // namespace rs::eval
