#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/label_match.h"

namespace rs::eval {
namespace {

TEST(LabelMatch, Normalize) {
  EXPECT_EQ(normalize_label("  Card_Arrival!\n"), "card arrival");
  EXPECT_EQ(normalize_label("card-arrival"), "card arrival");
  EXPECT_EQ(normalize_label("__"), "");
  EXPECT_EQ(normalize_label("Top-up  by cash/cheque"), "top up by cash cheque");
}

TEST(LabelMatch, Rules) {
  LabelMatcher m({"card", "card_arrival", "spam", "ham", "oos"});
  EXPECT_EQ(m.match("Card arrival.").value_or("-"), "card_arrival");        // rule 1
  EXPECT_EQ(m.match("\n\n  SPAM\nbecause...").value_or("-"), "spam");       // first non-blank line
  EXPECT_EQ(m.match("I think it is ham, not spam").value_or("-"), "ham");   // rule 2: earliest
  EXPECT_EQ(m.match("label: card arrival").value_or("-"), "card_arrival");  // rule 2: longest tie
  EXPECT_EQ(m.match("the card").value_or("-"), "card");
  EXPECT_FALSE(m.match("hamster spammer").has_value());  // whole words only
  EXPECT_FALSE(m.match("").has_value());
}

TEST(LabelMatch, IndistinguishableLabelsAreAnError) {
  EXPECT_THROW(LabelMatcher({"card_arrival", "Card Arrival"}), Error);
  EXPECT_THROW(LabelMatcher({"??"}), Error);
}

}  // namespace
}  // namespace rs::eval
