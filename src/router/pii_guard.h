// The PII guard: personal data (e-mail addresses, phone numbers, payment cards, IBANs and
// deployment-specific national ids) is found in a request before it leaves for the upstream LLM,
// replaced by placeholders, and put back into the upstream's answer. The hosted model sees
// "[EMAIL_1]" instead of the address; the client never notices. Local specialists see the
// request unchanged (the data does not leave the machine).
//
// Detection is deliberately conservative about ordinary numbers (amounts, dates, years, order
// numbers, versions, IP addresses are not phones) and strict about checksums (a card needs a
// valid Luhn digit, an IBAN a valid ISO 13616 mod-97), because every false positive changes the
// prompt the upstream sees. Byte offsets everywhere; the text is UTF-8 (invalid sequences never
// match anything and do not make matching fail). "Letter" and "digit" in patterns are Unicode
// (\p{L}, \p{N}) where words are delimited, ASCII [0-9] inside numbers.
//
//   email  local@domain.tld: the local part is letters, digits and . _ % + - (up to 64, not
//          starting with a dot, not inside a longer word), the domain one or more labels of
//          letters, digits and inner hyphens followed by a dot, then a TLD of >= 2 letters; any
//          case. "jörg@example.de" matches as a whole, so does the ASCII "jorg@example.de" in
//          "Grüße, jorg@example.de".
//   phone  digit groups separated by one space, dash or dot, or by parentheses, not inside a word
//          or a longer number, not after a currency sign ($ € £ ¥), not followed by a letter,
//          "%" or a decimal part; 9-15 digits in all.
//          International: "+" and the country code, then groups in any mix of separators
//          ("+44 20 7946 0958", "+1 (415) 555-2671", "+44 (0)20 7946 0958", "+442079460958").
//          National: one separator throughout, except right after a parenthesized area code
//          ("(415) 555-2671", "415-555-2671", "415.555.2671", "020 7946 0958", "1-800-555-0199",
//          "030 1234567"): the first group 2-5 digits (1 only with >= 4 groups), the others 2-8;
//          two groups only when the first starts with the trunk prefix 0. Never a phone: a single
//          run of digits without "+" (order numbers, timestamps), thousands groupings ("1 250 000
//          000", "12.500.000.000"; so also the 3-3-3 "612 345 678" without its "+34"), lists of
//          years ("1999 2000 2001"), IPv4 addresses, dates and times (too few digits, ":" and "/"
//          are not separators). Where the separator changes ("ref 12 415-555-2671"), the groups
//          before the change are dropped.
//   card   13-19 digits, not starting with 0, one run or groups of 3-8 digits separated by one
//          kind of separator (single spaces or single dashes): "4111 1111 1111 1111",
//          "4111-1111-1111-1111", "3782 822463 10005", "378282246310005"; not inside a word or
//          a longer run of digits; accepted only when the Luhn checksum holds. In a longer run of
//          groups the leftmost, then longest, valid span is taken.
//   iban   two letters, two check digits (not 00, 01 or 99), then 11-30 letters/digits, written
//          as one word or in blocks of 4 separated by single spaces ("DE89 3704 0044 0532 0130
//          00", "GB82WEST12345698765432"), any case, not inside a word; accepted only when the
//          ISO 13616 mod-97 remainder is 1 and the length fits the country (DE 22, GB 22, FR 27,
//          NL 18, ES 24, IT 27, BE 16, CH 21, AT 20 and ~30 more; unknown countries 15-34). A block
//          that follows the IBAN ("BE68 5390 0754 7034 from ...") is not taken as part of it.
//   national ids  each configured regex (PCRE2, UTF + Unicode properties), reported with the
//          pattern's name; empty matches are ignored.
//
// Overlaps are resolved by specificity: iban > card > email > national id (in config order) >
// phone; a candidate overlapping an accepted more specific match is dropped entirely.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rs::router {

// A deployment-specific pattern, e.g. {"us_ssn", R"(\b\d{3}-\d{2}-\d{4}\b)"}.
struct PiiPattern {
  std::string name;   // letters, digits, '_'; appears upper-cased in placeholders ("[US_SSN_1]")
  std::string regex;  // PCRE2 syntax, compiled with UTF and Unicode properties
};

struct PiiConfig {
  bool email = true, phone = true, card = true, iban = true;
  std::vector<PiiPattern> national_ids;  // names must be distinct, not one of the built-in kinds
};

// One detected value: [begin, end) in bytes; kind "email", "phone", "card", "iban" or the name of
// a national-id pattern.
struct PiiMatch {
  size_t begin = 0, end = 0;
  std::string kind;
};

// Compiled once, then shared: every method is const and safe to call from many threads.
class PiiGuard {
 public:
  // rs::Error naming the pattern when a regex does not compile, a name is empty, repeated (in any
  // case), one of the built-in kinds or not made of letters, digits and '_'.
  explicit PiiGuard(PiiConfig cfg);
  ~PiiGuard();
  PiiGuard(PiiGuard&&) noexcept;
  PiiGuard& operator=(PiiGuard&&) noexcept;
  PiiGuard(const PiiGuard&) = delete;
  PiiGuard& operator=(const PiiGuard&) = delete;

  // Non-overlapping matches in text order. When candidates overlap, prefer the more specific:
  // iban > card > email > national id > phone (a card number is not also reported as a phone).
  // rs::Error when a configured pattern fails while matching (e.g. PCRE2's match limit): the
  // request must not go out unchecked.
  std::vector<PiiMatch> find(std::string_view text) const;
  bool any(std::string_view text) const;
  const PiiConfig& config() const { return cfg_; }

 private:
  struct Impl;
  PiiConfig cfg_;
  std::unique_ptr<Impl> impl_;
};

// One per request: replaces each detected value with a stable placeholder "[EMAIL_1]",
// "[PHONE_2]", "[CARD_1]", "[IBAN_1]", "[US_SSN_1]" (kind upper-cased, numbered per kind from 1).
// The same value gets the same placeholder everywhere in the request (all messages, every call of
// redact()); values are compared after normalization: cards by their digits, phones by their
// digits and "+", IBANs without spaces in upper case, e-mails in lower case, national ids as
// written. restore() puts the original values back into the upstream's answer (the form first
// seen, when a value was written in several). Keeps a reference to `guard`, which must outlive it.
// Not thread-safe (one request, one thread at a time).
class PiiRedactor {
 public:
  explicit PiiRedactor(const PiiGuard& guard);

  std::string redact(std::string_view text);
  // Unknown placeholders (and text that merely looks like one) are left as they are.
  std::string restore(std::string_view text) const;
  // For streamed answers: the length of the longest prefix of `text` that does not end inside a
  // possible placeholder, i.e. what restore() can be given now; keep the rest for the next chunk.
  size_t restorable_length(std::string_view text) const;

  bool changed() const { return changed_; }  // anything redacted so far
  // kind -> number of distinct values redacted (for logs/metrics: never the values themselves)
  const std::map<std::string, int>& counts() const { return counts_; }
  std::string summary() const;  // e.g. "card=1,email=2" (sorted by kind); "" when nothing

 private:
  const PiiGuard* guard_;
  std::map<std::pair<std::string, std::string>, std::string> placeholders_;  // (kind, norm) ->
  std::map<std::string, std::string, std::less<>> originals_;                // placeholder -> value
  std::map<std::string, int> counts_;
  bool changed_ = false;
};

}  // namespace rs::router
