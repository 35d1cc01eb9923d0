#include "router/pii_guard.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <set>

#include "core/error.h"

namespace rs::router {
namespace {

// UTF with Unicode properties for \p{L} / \b; invalid UTF-8 in the subject never matches instead
// of failing the match (requests are not validated before the guard sees them).
constexpr uint32_t kCompileOptions = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;

// The built-in candidate patterns. They find the shapes; what regexes express badly (checksums,
// digit counts, one separator per number, thousands groupings) is checked in code below.
constexpr std::string_view kEmailRegex =
    R"((?<![\p{L}\p{N}_%+\-])[\p{L}\p{N}_%+\-][\p{L}\p{N}._%+\-]{0,63}@)"
    R"((?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}(?![\p{L}\p{N}_\-]))";
// Digit groups joined by one of " .-" or by parentheses, optionally after "+"; maximal
// (possessive).
constexpr std::string_view kPhoneRegex = R"((?<![\p{L}\p{N}_+])(?:\+[0-9]++|\([0-9]++\)|[0-9]++))"
                                         R"((?:[ .\-]?\([0-9]++\)|(?:[ .\-]|(?<=\)))[0-9]++)*+)";
// Digit groups joined by single spaces or dashes; maximal.
constexpr std::string_view kCardRegex = R"((?<![\p{L}\p{N}_])[0-9]++(?:[ \-][0-9]++)*+)";
constexpr std::string_view kIbanRegex =
    R"((?<![\p{L}\p{N}_])[A-Za-z]{2}[0-9]{2})"
    R"((?:(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?|[A-Za-z0-9]{11,30})(?![\p{L}\p{N}_]))";

// IBAN lengths (ISO 13616 registry) of the countries most likely to appear; others: 15-34.
constexpr std::array<std::pair<std::string_view, size_t>, 40> kIbanLengths{{
    {"AD", 24}, {"AE", 23}, {"AT", 20}, {"BE", 16}, {"BG", 22}, {"CH", 21}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DK", 18}, {"EE", 20}, {"ES", 24}, {"FI", 18}, {"FR", 27}, {"GB", 22}, {"GI", 23},
    {"GR", 27}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IS", 26}, {"IT", 27}, {"LI", 21},
    {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MT", 31}, {"NL", 18}, {"NO", 15}, {"PL", 28},
    {"PT", 25}, {"RO", 24}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"TR", 26},
}};

// ASCII only, independent of the locale.
constexpr auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
constexpr auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
constexpr auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
constexpr auto is_alnum = [](char c) { return is_digit(c) || is_upper(c) || is_lower(c); };
constexpr auto to_upper = [](char c) { return is_lower(c) ? static_cast<char>(c - 32) : c; };
constexpr auto to_lower = [](char c) { return is_upper(c) ? static_cast<char>(c + 32) : c; };

std::string pcre2_message(int code) {
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(code, msg, sizeof(msg));
  return reinterpret_cast<const char*>(msg);
}

struct CodeFree {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using Code = std::unique_ptr<pcre2_code, CodeFree>;

Code compile(std::string_view regex, std::string_view name) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(),
                                   kCompileOptions, &err, &off, nullptr);
  if (!code)
    fail("pii guard: pattern '{}' does not compile: {} at offset {} (regex: {})", name,
         pcre2_message(err), off, regex);
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; the interpreter also works
  return Code(code);
}

// Successive matches of one pattern in one text. Owns its match data, so any number of threads
// can scan with the same compiled pattern.
class Matcher {
 public:
  Matcher(const pcre2_code* code, std::string_view text, std::string_view name)
      : code_(code),
        text_(text),
        name_(name),
        md_(pcre2_match_data_create_from_pattern(code, nullptr)) {
    if (!md_) fail("pii guard: out of memory");
  }
  ~Matcher() { pcre2_match_data_free(md_); }
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // The first match starting at or after `from` (a character boundary); false when none.
  bool find(size_t from, size_t& begin, size_t& end) {
    if (from >= text_.size()) return false;  // (callers never pass empty texts)
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text_.data());
    int rc = pcre2_match(code_, subject, text_.size(), from, 0, md_, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)  // the interpreter keeps its backtracking on the heap
      rc = pcre2_match(code_, subject, text_.size(), from, PCRE2_NO_JIT, md_, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) fail("pii guard: pattern '{}' failed: {}", name_, pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md_);
    begin = ov[0];
    end = std::max(ov[0], ov[1]);  // \K can put the start after the end
    return true;
  }

 private:
  const pcre2_code* code_;
  std::string_view text_, name_;
  pcre2_match_data* md_;
};

// The start of the character after the one at `pos` (also steps over invalid bytes).
size_t next_char(std::string_view t, size_t pos) {
  ++pos;
  while (pos < t.size() && (static_cast<unsigned char>(t[pos]) & 0xC0) == 0x80) ++pos;
  return pos;
}

// A digit group of a phone or card candidate.
struct Group {
  size_t begin = 0, end = 0;  // bytes, including a leading "+" or the parentheses
  int digits = 0;
  char sep = 0;  // the separator before the group; 0 for the first and right after ")"
  bool paren = false;
};

// The groups of a candidate the phone or card regex matched (so the shape is already known).
std::vector<Group> split_groups(std::string_view t, size_t b, size_t e) {
  std::vector<Group> out;
  for (size_t i = b; i < e;) {
    Group g;
    if (t[i] == ' ' || t[i] == '.' || t[i] == '-') g.sep = t[i++];
    g.begin = i;
    g.paren = t[i] == '(';
    if (g.paren || t[i] == '+') ++i;
    for (; i < e && is_digit(t[i]); ++i) ++g.digits;
    if (g.paren && i < e && t[i] == ')') ++i;
    g.end = i;
    out.push_back(g);
  }
  return out;
}

// A number ending at `e` is whole: not followed by a letter, "%" or a decimal/time/date part.
bool clean_end(std::string_view t, size_t e) {
  if (e >= t.size()) return true;
  const char c = t[e];
  if (is_alnum(c) || c == '_' || c == '%') return false;
  return !((c == '.' || c == ',' || c == ':' || c == '/') && e + 1 < t.size() &&
           is_digit(t[e + 1]));
}

// A number starting at `b` continues one before it ("3.1415", "12:30", "1,250").
bool attached(std::string_view t, size_t b) {
  if (b < 2) return false;
  const char c = t[b - 1];
  return (c == '.' || c == ',' || c == ':' || c == '/') && is_digit(t[b - 2]);
}

// An amount: "$", "€", "£" or "¥" (optionally and a space) right before `b`.
bool after_currency(std::string_view t, size_t b) {
  std::string_view before = t.substr(0, b);
  if (!before.empty() && before.back() == ' ') before.remove_suffix(1);
  return before.ends_with("$") || before.ends_with("\xE2\x82\xAC") ||   // $ €
         before.ends_with("\xC2\xA3") || before.ends_with("\xC2\xA5");  // £ ¥
}

int digit_sum(const std::vector<Group>& g, size_t i, size_t j) {
  int n = 0;
  for (size_t k = i; k < j; ++k) n += g[k].digits;
  return n;
}

bool international_phone(const std::vector<Group>& g) {
  const int digits = digit_sum(g, 0, g.size());
  if (digits < 9 || digits > 15) return false;
  return std::all_of(g.begin(), g.end(), [](const Group& x) { return !x.paren || x.digits <= 4; });
}

// One past the last group of the national segment starting at g[i]: the groups that share one
// separator (the separator right after a parenthesized area code does not count).
size_t segment_end(const std::vector<Group>& g, size_t i) {
  size_t j = i + 1;
  if (g[i].paren && j < g.size() && !g[j].paren) ++j;
  char sep = 0;
  while (j < g.size() && !g[j].paren && (sep == 0 || g[j].sep == sep)) sep = g[j++].sep;
  return j;
}

bool national_phone(std::string_view t, const std::vector<Group>& g, size_t i, size_t j) {
  const int digits = digit_sum(g, i, j);
  if (digits < 9 || digits > 15) return false;
  const bool paren = g[i].paren;
  const size_t first = paren ? i + 1 : i;  // the first group outside parentheses
  const size_t plain = j - first;
  if (paren) {
    if (g[i].digits < 2 || g[i].digits > 5 || plain < 1) return false;
  } else {
    if (plain < 2 || g[i].digits > 5 || (g[i].digits == 1 && plain < 4)) return false;
    if (plain == 2 && t[g[i].begin] != '0') return false;  // "030 1234567", not "12 3456789"
  }
  for (size_t k = paren ? first : first + 1; k < j; ++k)
    if (g[k].digits < 2 || g[k].digits > 8) return false;
  if (paren) return true;
  // Not "1 250 000 000" / "12.500.000.000", "172.16.254.100", "1999 2000 2001".
  bool thousands = g[i].digits <= 3, ipv4 = plain == 4 && g[i + 1].sep == '.', years = true;
  for (size_t k = i; k < j; ++k) {
    const std::string_view head = t.substr(g[k].begin, 2);
    thousands = thousands && (k == i || g[k].digits == 3);
    ipv4 = ipv4 && g[k].digits <= 3;
    years = years && g[k].digits == 4 && (head == "19" || head == "20");
  }
  return !thousands && !ipv4 && !years;
}

bool luhn(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, twice = !twice) {
    int d = *it - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return sum % 10 == 0;
}

// `s`: upper case, no spaces, two letters and two digits first (the regex saw to that).
bool iban_valid(std::string_view s) {
  if (s.size() < 15 || s.size() > 34) return false;
  const std::string_view check = s.substr(2, 2);
  if (check == "00" || check == "01" || check == "99") return false;
  for (const auto& [country, length] : kIbanLengths)
    if (s.substr(0, 2) == country && s.size() != length) return false;
  int rem = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    const char c = s[(k + 4) % s.size()];  // the first four characters move to the end
    rem = is_digit(c) ? (rem * 10 + (c - '0')) % 97 : (rem * 100 + (c - 'A' + 10)) % 97;
  }
  return rem == 1;
}

struct Candidate {
  size_t begin, end;
  std::string_view kind;
};

// Where detectors put what they find; with `first_only`, scanning stops at the first find.
struct Sink {
  std::vector<Candidate>* out = nullptr;
  bool first_only = false;
  bool hit = false;
  // false: stop scanning.
  bool add(size_t b, size_t e, std::string_view kind) {
    hit = true;
    if (out) out->push_back({b, e, kind});
    return !first_only;
  }
};

bool scan_phone(const pcre2_code* code, std::string_view t, Sink& sink) {
  Matcher m(code, t, "phone");
  for (size_t pos = 0, b = 0, e = 0; m.find(pos, b, e); pos = e) {
    const std::vector<Group> g = split_groups(t, b, e);
    if (t[b] == '+') {
      if (international_phone(g) && clean_end(t, e) && !sink.add(b, e, "phone")) return false;
      continue;
    }
    for (size_t i = 0; i < g.size();) {
      if (attached(t, g[i].begin) || (i == 0 && after_currency(t, g[i].begin))) {
        ++i;  // the group belongs to a decimal, a time or an amount
        continue;
      }
      const size_t j = segment_end(g, i);
      if (national_phone(t, g, i, j) && clean_end(t, g[j - 1].end)) {
        if (!sink.add(g[i].begin, g[j - 1].end, "phone")) return false;
        i = j;
      } else {
        i = (j >= g.size() || g[j].paren) ? j : j - 1;  // the separator changed at g[j]
      }
    }
  }
  return true;
}

bool scan_card(const pcre2_code* code, std::string_view t, Sink& sink) {
  Matcher m(code, t, "card");
  auto groupable = [](const Group& x) { return x.digits >= 3 && x.digits <= 8; };
  for (size_t pos = 0, b = 0, e = 0; m.find(pos, b, e); pos = e) {
    const std::vector<Group> g = split_groups(t, b, e);
    const size_t n = clean_end(t, e) ? g.size() : g.size() - 1;
    for (size_t i = 0; i < n;) {
      size_t best = 0;  // one past the last group of the longest valid span from g[i]
      if (!attached(t, g[i].begin) && t[g[i].begin] != '0') {
        std::string digits;
        for (size_t j = i; j < n; ++j) {
          if (j > i && (g[j].sep != g[i + 1].sep || !groupable(g[i]) || !groupable(g[j]))) break;
          for (size_t k = g[j].begin; k < g[j].end; ++k) digits += t[k];
          if (digits.size() > 19) break;
          if (digits.size() >= 13 && luhn(digits)) best = j + 1;
        }
      }
      if (best > 0 && !sink.add(g[i].begin, g[best - 1].end, "card")) return false;
      i = best > 0 ? best : i + 1;
    }
  }
  return true;
}

bool scan_iban(const pcre2_code* code, std::string_view t, Sink& sink) {
  Matcher m(code, t, "iban");
  size_t pos = 0, b = 0, e = 0;
  while (m.find(pos, b, e)) {
    // The IBAN may end at any block boundary: a word after it can look like one more block.
    std::string norm;
    std::vector<std::pair<size_t, size_t>> ends;  // (normalized length, byte end)
    for (size_t k = b; k < e; ++k) {
      if (t[k] == ' ') ends.emplace_back(norm.size(), k);
      if (t[k] != ' ') norm += to_upper(t[k]);
    }
    ends.emplace_back(norm.size(), e);
    pos = b + 1;  // when nothing fits: an IBAN may still start at a later block
    for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
      if (!iban_valid(std::string_view(norm).substr(0, it->first))) continue;
      if (!sink.add(b, it->second, "iban")) return false;
      pos = it->second;
      break;
    }
  }
  return true;
}

bool scan_regex(const pcre2_code* code, std::string_view t, std::string_view kind, Sink& sink) {
  Matcher m(code, t, kind);
  size_t pos = 0, b = 0, e = 0;
  while (pos <= t.size() && m.find(pos, b, e)) {
    if (e == b) {  // empty match: step over one character
      pos = next_char(t, b);
      continue;
    }
    if (!sink.add(b, e, kind)) return false;
    pos = e;
  }
  return true;
}

// The form in which two values are the same value (see PiiRedactor in the header).
std::string normalize(std::string_view kind, std::string_view value) {
  const bool email = kind == "email", phone = kind == "phone";
  if (!email && !phone && kind != "card" && kind != "iban") return std::string(value);
  std::string out;
  for (const char c : value)
    if (email || is_alnum(c) || (phone && c == '+')) out += email ? to_lower(c) : to_upper(c);
  return out;
}

}  // namespace

struct PiiGuard::Impl {
  Code email, phone, card, iban;
  std::vector<Code> national;  // parallel to cfg_.national_ids

  // Candidates of every enabled detector, most specific first (see the header).
  void scan(const PiiConfig& cfg, std::string_view t, Sink& sink) const {
    if (iban && !scan_iban(iban.get(), t, sink)) return;
    if (card && !scan_card(card.get(), t, sink)) return;
    if (email && !scan_regex(email.get(), t, "email", sink)) return;
    for (size_t k = 0; k < national.size(); ++k)
      if (!scan_regex(national[k].get(), t, cfg.national_ids[k].name, sink)) return;
    if (phone) scan_phone(phone.get(), t, sink);
  }
};

PiiGuard::PiiGuard(PiiConfig cfg) : cfg_(std::move(cfg)), impl_(std::make_unique<Impl>()) {
  if (cfg_.email) impl_->email = compile(kEmailRegex, "email");
  if (cfg_.phone) impl_->phone = compile(kPhoneRegex, "phone");
  if (cfg_.card) impl_->card = compile(kCardRegex, "card");
  if (cfg_.iban) impl_->iban = compile(kIbanRegex, "iban");
  std::set<std::string> names{"email", "phone", "card", "iban"};
  for (const PiiPattern& p : cfg_.national_ids) {
    RS_CHECK(!p.name.empty(), "pii guard: a national id pattern has no name (regex: {})", p.regex);
    RS_CHECK(
        std::all_of(p.name.begin(), p.name.end(), [](char c) { return is_alnum(c) || c == '_'; }),
        "pii guard: national id pattern '{}': a name is letters, digits and '_'", p.name);
    std::string lower;
    for (const char c : p.name) lower += to_lower(c);
    RS_CHECK(names.insert(lower).second,
             "pii guard: national id pattern '{}': the name is taken (by another pattern, in any "
             "case, or a built-in kind: email, phone, card, iban)",
             p.name);
    RS_CHECK(!p.regex.empty(), "pii guard: national id pattern '{}' has an empty regex", p.name);
    impl_->national.push_back(compile(p.regex, p.name));
  }
}

PiiGuard::~PiiGuard() = default;
PiiGuard::PiiGuard(PiiGuard&&) noexcept = default;
PiiGuard& PiiGuard::operator=(PiiGuard&&) noexcept = default;

std::vector<PiiMatch> PiiGuard::find(std::string_view text) const {
  std::vector<PiiMatch> out;
  if (text.empty()) return out;
  std::vector<Candidate> cands;
  Sink sink{&cands, false};
  impl_->scan(cfg_, text, sink);
  std::map<size_t, Candidate> taken;  // begin -> accepted match (disjoint, so ends ascend too)
  for (const Candidate& c : cands) {
    const auto next = taken.lower_bound(c.end);
    if (next == taken.begin() || std::prev(next)->second.end <= c.begin) taken.emplace(c.begin, c);
  }
  for (const auto& [begin, c] : taken) out.push_back({c.begin, c.end, std::string(c.kind)});
  return out;
}

bool PiiGuard::any(std::string_view text) const {
  if (text.empty()) return false;
  Sink sink{nullptr, true};
  impl_->scan(cfg_, text, sink);
  return sink.hit;
}

PiiRedactor::PiiRedactor(const PiiGuard& guard) : guard_(&guard) {}

std::string PiiRedactor::redact(std::string_view text) {
  const std::vector<PiiMatch> matches = guard_->find(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const PiiMatch& m : matches) {
    out.append(text.substr(pos, m.begin - pos));
    const std::string_view value = text.substr(m.begin, m.end - m.begin);
    auto key = std::make_pair(m.kind, normalize(m.kind, value));
    auto it = placeholders_.find(key);
    if (it == placeholders_.end()) {
      std::string upper;
      for (const char c : m.kind) upper += to_upper(c);
      std::string placeholder = fmt::format("[{}_{}]", upper, ++counts_[m.kind]);
      originals_.emplace(placeholder, std::string(value));
      it = placeholders_.emplace(std::move(key), std::move(placeholder)).first;
    }
    out += it->second;
    pos = m.end;
    changed_ = true;
  }
  out.append(text.substr(pos));
  return out;
}

std::string PiiRedactor::restore(std::string_view text) const {
  size_t longest = 0;
  for (const auto& entry : originals_) longest = std::max(longest, entry.first.size());
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] == '[') {
      const size_t len = text.substr(pos, longest).find(']') + 1;  // 0 when there is none
      const auto it = originals_.find(text.substr(pos, len));
      if (it != originals_.end()) {
        out += it->second;
        pos += len - 1;
        continue;
      }
    }
    out += text[pos];
  }
  return out;
}

size_t PiiRedactor::restorable_length(std::string_view text) const {
  const size_t open = text.rfind('[');
  if (originals_.empty() || open == std::string_view::npos) return text.size();
  const std::string_view tail = text.substr(open + 1);
  const bool partial = std::all_of(tail.begin(), tail.end(),
                                   [](char c) { return is_digit(c) || is_upper(c) || c == '_'; });
  return partial ? open : text.size();  // "[EMA": the rest may come in the next chunk
}

std::string PiiRedactor::summary() const {
  std::string out;
  for (const auto& [kind, n] : counts_)
    out += fmt::format("{}{}={}", out.empty() ? "" : ",", kind, n);
  return out;
}

}  // namespace rs::router
