// The Porter (1980) stemmer in the exact variant that ROUGE-1.5.5 ships (Martin Porter's Perl
// reference implementation with Chin-Yew Lin's 2004 change to step 4), so that `rouge --stem`
// gives ROUGE-1.5.5's numbers. It differs from the common C/NLTK stemmers: step 4 tries the
// "-ment" and "-ent" rules after the other suffixes instead of as alternatives, and the "cvc"
// test of steps 1b and 5 requires the whole stem to be consonants-vowel-consonant.
#pragma once

#include <string>
#include <string_view>

namespace rs::eval {

// Stems one lowercase word. Words shorter than 3 characters come back unchanged.
std::string rouge155_porter_stem(std::string_view word);

}  // namespace rs::eval
