// Written from Porter's paper and the behaviour of the Perl implementation inside ROUGE-1.5.5.
// The Perl version decides everything with regexes over the classes
//   consonant [^aeiou], vowel [aeiouy], consonant run [^aeiou][^aeiouy]*, vowel run
//   [aeiouy][aeiou]*;
// these runs are exactly Porter's: a 'y' is a vowel after a consonant and a consonant after a
// vowel, and a word-initial 'y' is upper-cased first so that it is always a consonant. The
// functions below compute the same predicates by scanning, with one comment per Perl test.
#include "eval/porter.h"

#include <array>
#include <utility>

namespace rs::eval {
namespace {

bool in(char c, std::string_view set) {
  return set.find(c) != std::string_view::npos;
}

// Porter's vowel test at position i (the 'Y' that replaced a leading 'y' is a consonant).
bool vowel_at(std::string_view w, size_t i) {
  const char c = w[i];
  if (in(c, "aeiou")) return true;
  if (c == 'y') return i > 0 && !vowel_at(w, i - 1);
  return false;
}

// m in [C](VC)^m[V].
int measure(std::string_view w) {
  int m = 0;
  bool prev_vowel = false;
  for (size_t i = 0; i < w.size(); ++i) {
    const bool v = vowel_at(w, i);
    if (!v && prev_vowel) ++m;
    prev_vowel = v;
  }
  return m;
}

// *v*: the stem contains a vowel.
bool has_vowel(std::string_view w) {
  for (size_t i = 0; i < w.size(); ++i)
    if (vowel_at(w, i)) return true;
  return false;
}

// The Perl test /^${C}${v}[^aeiouwxy]$/: the WHOLE word is one consonant run, one vowel and a
// final consonant other than w, x, y (Porter's "m=1 and *o").
bool whole_cvc(std::string_view w) {
  const size_t n = w.size();
  if (n < 3) return false;
  if (in(w[0], "aeiou")) return false;
  for (size_t i = 1; i + 2 < n; ++i)
    if (in(w[i], "aeiouy")) return false;
  return in(w[n - 2], "aeiouy") && !in(w[n - 1], "aeiouwxy");
}

bool ends_with(std::string_view w, std::string_view s) {
  return w.size() >= s.size() && w.substr(w.size() - s.size()) == s;
}

template <size_t N>
using SuffixMap = std::array<std::pair<std::string_view, std::string_view>, N>;

// A regex alternation anchored at $ matches at the leftmost start, i.e. the longest suffix.
template <size_t N>
const std::pair<std::string_view, std::string_view>* longest_suffix(std::string_view w,
                                                                    const SuffixMap<N>& map) {
  const std::pair<std::string_view, std::string_view>* best = nullptr;
  for (const auto& e : map)
    if (ends_with(w, e.first) && (!best || e.first.size() > best->first.size())) best = &e;
  return best;
}

constexpr SuffixMap<21> kStep2{
    {{"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"}, {"anci", "ance"}, {"izer", "ize"},
     {"bli", "ble"},     {"alli", "al"},     {"entli", "ent"}, {"eli", "e"},     {"ousli", "ous"},
     {"ization", "ize"}, {"ation", "ate"},   {"ator", "ate"},  {"alism", "al"},  {"iveness", "ive"},
     {"fulness", "ful"}, {"ousness", "ous"}, {"aliti", "al"},  {"iviti", "ive"}, {"biliti", "ble"},
     {"logi", "log"}}};

constexpr SuffixMap<7> kStep3{{{"icate", "ic"},
                               {"ative", ""},
                               {"alize", "al"},
                               {"iciti", "ic"},
                               {"ical", "ic"},
                               {"ful", ""},
                               {"ness", ""}}};

// Step 4's first list; ROUGE-1.5.5 took "ment" and "ent" out of it (see stem()).
constexpr SuffixMap<16> kStep4{{{"al", ""},
                                {"ance", ""},
                                {"ence", ""},
                                {"er", ""},
                                {"ic", ""},
                                {"able", ""},
                                {"ible", ""},
                                {"ant", ""},
                                {"ement", ""},
                                {"ou", ""},
                                {"ism", ""},
                                {"ate", ""},
                                {"iti", ""},
                                {"ous", ""},
                                {"ive", ""},
                                {"ize", ""}}};

std::string_view drop(std::string_view w, size_t n) {
  return w.substr(0, w.size() - n);
}

// Replaces the matched suffix when the stem before it has measure > min_m.
void replace_suffix(std::string& w, const std::pair<std::string_view, std::string_view>* e,
                    int min_m) {
  if (!e || measure(drop(w, e->first.size())) <= min_m) return;
  w.resize(w.size() - e->first.size());
  w.append(e->second);
}

}  // namespace

std::string rouge155_porter_stem(std::string_view word) {
  if (word.size() < 3) return std::string(word);
  std::string w(word);
  const bool initial_y = w[0] == 'y';
  if (initial_y) w[0] = 'Y';

  // Step 1a: sses -> ss, ies -> i, s -> "" (but not after another s).
  if (ends_with(w, "sses") || ends_with(w, "ies")) {
    w.erase(w.size() - 2);
  } else if (w.size() >= 2 && w.back() == 's' && w[w.size() - 2] != 's') {
    w.pop_back();
  }

  // Step 1b: (m>0) eed -> ee; (*v*) ed, ing -> "" and then tidy the stem.
  if (ends_with(w, "eed")) {
    if (measure(drop(w, 3)) > 0) w.pop_back();
  } else if (ends_with(w, "ed") || ends_with(w, "ing")) {
    const size_t cut = ends_with(w, "ed") ? 2 : 3;
    if (has_vowel(drop(w, cut))) {
      w.erase(w.size() - cut);
      const size_t n = w.size();
      if (ends_with(w, "at") || ends_with(w, "bl") || ends_with(w, "iz")) {
        w += 'e';
      } else if (n >= 2 && w[n - 1] == w[n - 2] && !in(w[n - 1], "aeiouylsz")) {
        w.pop_back();  // double consonant other than l, s, z
      } else if (whole_cvc(w)) {
        w += 'e';
      }
    }
  }

  // Step 1c: (*v*) y -> i.
  if (!w.empty() && w.back() == 'y' && has_vowel(drop(w, 1))) w.back() = 'i';

  // Steps 2 and 3: (m>0) longest listed suffix -> its replacement.
  replace_suffix(w, longest_suffix(w, kStep2), 0);
  replace_suffix(w, longest_suffix(w, kStep3), 0);

  // Step 4 (m>1), as modified by ROUGE-1.5.5: the list, then "ment", then "ent" or "(s|t)ion",
  // each tried on the result of the one before (Porter's original tries one suffix only).
  replace_suffix(w, longest_suffix(w, kStep4), 1);
  if (ends_with(w, "ment") && measure(drop(w, 4)) > 1) w.erase(w.size() - 4);
  if (ends_with(w, "ent")) {
    if (measure(drop(w, 3)) > 1) w.erase(w.size() - 3);
  } else if (ends_with(w, "sion") || ends_with(w, "tion")) {
    if (measure(drop(w, 3)) > 1) w.erase(w.size() - 3);
  }

  // Step 5a: (m>1) e -> ""; (m=1 and not *o) e -> "".
  if (!w.empty() && w.back() == 'e') {
    const std::string_view stem = drop(w, 1);
    const int m = measure(stem);
    if (m > 1 || (m == 1 && !whole_cvc(stem))) w.pop_back();
  }
  // Step 5b: (m>1 and *d and *L) single letter.
  if (ends_with(w, "ll") && measure(w) > 1) w.pop_back();

  if (initial_y) w[0] = 'y';
  return w;
}

}  // namespace rs::eval
