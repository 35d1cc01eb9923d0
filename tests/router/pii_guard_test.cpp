// The PII guard: each detector on values it must find and on ordinary text it must leave alone,
// overlaps between detectors, placeholders that stay stable over a request, and restoring the
// values in the upstream's answer.
#include "router/pii_guard.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

using rs::router::PiiConfig;
using rs::router::PiiGuard;
using rs::router::PiiMatch;
using rs::router::PiiPattern;
using rs::router::PiiRedactor;

namespace {

const PiiGuard& guard() {
  static const PiiGuard g{PiiConfig{}};
  return g;
}

// "kind:value" of every match, in text order.
std::vector<std::string> found(std::string_view text, const PiiGuard& g = guard()) {
  std::vector<std::string> out;
  for (const PiiMatch& m : g.find(text))
    out.push_back(m.kind + ":" + std::string(text.substr(m.begin, m.end - m.begin)));
  return out;
}

using Found = std::vector<std::string>;

}  // namespace

TEST(PiiGuard, Email) {
  EXPECT_EQ(found("write to jane.doe+news@mail.example.com today"),
            Found{"email:jane.doe+news@mail.example.com"});
  EXPECT_EQ(found("JOHN_SMITH@EXAMPLE.CO.UK."), Found{"email:JOHN_SMITH@EXAMPLE.CO.UK"});
  EXPECT_EQ(found("<a.b-c%d@x-y.io>"), Found{"email:a.b-c%d@x-y.io"});
  EXPECT_TRUE(found("user@localhost").empty());  // no TLD
  EXPECT_TRUE(found("a@b.c").empty());           // TLD of one letter
  EXPECT_TRUE(found("@example.com and foo@ and x@-bad.com").empty());
  EXPECT_TRUE(found("version 1.2.3@4").empty());
}

TEST(PiiGuard, EmailNextToUtf8) {
  const std::string text = "Grüße, jorg@example.de — danke";
  const auto m = guard().find(text);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind, "email");
  EXPECT_EQ(text.substr(m[0].begin, m[0].end - m[0].begin), "jorg@example.de");
  EXPECT_EQ(m[0].begin, text.find("jorg"));
  // A non-ASCII local part is taken whole (never the ASCII tail "rg@example.de" alone).
  EXPECT_EQ(found("Grüße, jörg@example.de"), Found{"email:jörg@example.de"});
  // Invalid UTF-8 around a value neither fails nor hides it.
  EXPECT_EQ(found("\xFF\xFE bob@example.org \xC3"), Found{"email:bob@example.org"});
}

TEST(PiiGuard, PhoneFormats) {
  for (const char* phone :
       {"+44 20 7946 0958", "+1 (415) 555-2671", "+442079460958", "+44 (0)20 7946 0958",
        "+49 30 1234567", "+33 1 23 45 67 89", "(415) 555-2671", "(415)555-2671", "415-555-2671",
        "415.555.2671", "020 7946 0958", "1-800-555-0199", "030 1234567", "01 23 45 67 89"}) {
    const std::string text = std::string("call ") + phone + ", thanks";
    EXPECT_EQ(found(text), Found{std::string("phone:") + phone}) << phone;
  }
  EXPECT_EQ(found("tel:415-555-2671"), Found{"phone:415-555-2671"});
}

TEST(PiiGuard, NumbersThatAreNotPhones) {
  for (const char* text : {"in 2024 we sold 1250 units",
                           "total $1,250.00 due",
                           "paid € 1 250 000 000",
                           "on 2024-05-01 at 12:30:45",
                           "01.05.2024",
                           "12/05/2024",
                           "order 123456789",
                           "order 1234567890 shipped",
                           "ts 1714567890123",
                           "pi is 3.14159265358979",
                           "population 1 250 000 000",
                           "12.500.000.000 EUR",
                           "host 172.16.254.100",
                           "ISBN 978-0-306-40615-7",
                           "+1 555 1234",
                           "up 12% to 415",
                           "v1.2.3.4",
                           "50%",
                           "order 123-456-789",
                           "+12",
                           "3.415 555 2671",
                           "in 1999 2000 2001"}) {
    EXPECT_TRUE(found(text).empty()) << text << " -> " << ::testing::PrintToString(found(text));
  }
}

TEST(PiiGuard, PhoneAfterOtherNumbers) {
  EXPECT_EQ(found("12:30 415 555 2671"), Found{"phone:415 555 2671"});
  EXPECT_EQ(found("ref 12 415-555-2671"), Found{"phone:415-555-2671"});
  EXPECT_EQ(found("415-555-2671 020 7946 0958"),
            (Found{"phone:415-555-2671", "phone:020 7946 0958"}));
}

TEST(PiiGuard, Card) {
  for (const char* card :
       {"4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "378282246310005",
        "3782 822463 10005", "5555 5555 5555 4444", "6011111111111117", "4222222222222"}) {
    const std::string text = std::string("card: ") + card + ".";
    EXPECT_EQ(found(text), Found{std::string("card:") + card}) << card;
  }
}

TEST(PiiGuard, CardNegatives) {
  EXPECT_TRUE(found("4111 1111 1111 1112").empty());  // Luhn fails: and not a phone either
  EXPECT_TRUE(found("4111111111111112").empty());
  EXPECT_TRUE(found("0000 0000 0000 0000").empty());              // starts with 0
  EXPECT_TRUE(found("4111 1111-1111 1111").empty());              // mixed separators
  EXPECT_TRUE(found("41111111111111111111111").empty());          // 23 digits, no boundary
  EXPECT_TRUE(found("id4111111111111111").empty());               // inside a word
  EXPECT_TRUE(found("4111111111111111.50").empty());              // a decimal number
  EXPECT_TRUE(found("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1").empty());  // single digits
}

TEST(PiiGuard, CardIsNotAlsoAPhone) {
  // "3782 822463 10005" also has the shape of a national phone number (15 digits, spaces).
  const std::string text = "Amex 3782 822463 10005 or +1 415 555 2671";
  const auto m = guard().find(text);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].kind, "card");
  EXPECT_EQ(m[0].begin, 5u);
  EXPECT_EQ(m[0].end, 5u + 17);
  EXPECT_EQ(m[1].kind, "phone");
  EXPECT_EQ(m[1].begin, text.find('+'));
  EXPECT_EQ(m[1].end, text.size());
}

TEST(PiiGuard, Iban) {
  for (const char* iban :
       {"DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "gb82 west 1234 5698 7654 32",
        "NL91 ABNA 0417 1643 00", "FR1420041010050500013M02606", "BE68 5390 0754 7034",
        "CH9300762011623852957", "NO9386011117947"}) {
    const std::string text = std::string("IBAN ") + iban + " please";
    EXPECT_EQ(found(text), Found{std::string("iban:") + iban}) << iban;
  }
  // A word that looks like one more block is not part of the IBAN.
  EXPECT_EQ(found("BE68 5390 0754 7034 from my account"), Found{"iban:BE68 5390 0754 7034"});
}

TEST(PiiGuard, IbanNegatives) {
  EXPECT_TRUE(found("DE89 3704 0044 0532 0130 01").empty());  // mod-97 fails
  EXPECT_TRUE(found("GB82WEST12345698765433").empty());
  EXPECT_TRUE(found("DE893704004405320130").empty());        // DE is 22 characters
  EXPECT_TRUE(found("XDE89370400440532013000").empty());     // inside a word
  EXPECT_TRUE(found("DE89 37040044 0532 0130 00").empty());  // not blocks of 4
}

TEST(PiiGuard, MultipleMatchesWithOffsets) {
  const std::string text =
      "Hi, I'm ann@example.com, card 4111-1111-1111-1111, phone (415) 555-2671, "
      "IBAN DE89370400440532013000.";
  const auto m = guard().find(text);
  ASSERT_EQ(m.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> want{{"email", "ann@example.com"},
                                                              {"card", "4111-1111-1111-1111"},
                                                              {"phone", "(415) 555-2671"},
                                                              {"iban", "DE89370400440532013000"}};
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(m[k].kind, want[k].first);
    EXPECT_EQ(m[k].begin, text.find(want[k].second));
    EXPECT_EQ(m[k].end, m[k].begin + want[k].second.size());
  }
  EXPECT_TRUE(guard().any(text));
  EXPECT_FALSE(guard().any("nothing personal here, just 42 and 2024-05-01"));
}

TEST(PiiGuard, EmptyText) {
  EXPECT_TRUE(guard().find("").empty());
  EXPECT_FALSE(guard().any(""));
  PiiRedactor r(guard());
  EXPECT_EQ(r.redact(""), "");
  EXPECT_EQ(r.restore(""), "");
  EXPECT_FALSE(r.changed());
  EXPECT_EQ(r.summary(), "");
}

TEST(PiiGuard, DisabledKinds) {
  PiiConfig cfg;
  cfg.email = cfg.phone = false;
  const PiiGuard g(cfg);
  EXPECT_EQ(found("a@example.com 415-555-2671 4111111111111111", g),
            Found{"card:4111111111111111"});
}

TEST(PiiGuard, NationalIdPattern) {
  PiiConfig cfg;
  cfg.national_ids = {{"us_ssn", R"(\b\d{3}-\d{2}-\d{4}\b)"},
                      {"nino", R"(\b[A-Z]{2}\d{6}[A-D]\b)"}};
  const PiiGuard g(cfg);
  EXPECT_EQ(found("SSN 123-45-6789, NI QQ123456C, tel 415-555-2671", g),
            (Found{"us_ssn:123-45-6789", "nino:QQ123456C", "phone:415-555-2671"}));

  PiiRedactor r(g);
  EXPECT_EQ(r.redact("mine is 123-45-6789"), "mine is [US_SSN_1]");
  EXPECT_EQ(r.summary(), "us_ssn=1");

  cfg.national_ids = {{"anything", "x*"}};  // empty matches are ignored
  EXPECT_EQ(found("axxb", PiiGuard(cfg)), Found{"anything:xx"});
}

TEST(PiiGuard, BadConfigThrows) {
  PiiConfig cfg;
  cfg.national_ids = {{"tax_id", R"(\d{3}(-\d+)"}};
  try {
    PiiGuard g(cfg);
    FAIL() << "no error for a regex that does not compile";
  } catch (const rs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tax_id"), std::string::npos) << e.what();
  }
  for (const std::vector<PiiPattern>& ids :
       std::vector<std::vector<PiiPattern>>{{{"", "x"}},
                                            {{"email", "x"}},
                                            {{"Card", "x"}},
                                            {{"id", "x"}, {"ID", "y"}},
                                            {{"two words", "x"}},
                                            {{"empty", ""}}}) {
    cfg.national_ids = ids;
    EXPECT_THROW(PiiGuard{cfg}, rs::Error) << ids.back().name;
  }
}

TEST(PiiGuard, StablePlaceholdersAcrossMessages) {
  PiiRedactor r(guard());
  EXPECT_FALSE(r.changed());
  EXPECT_EQ(r.redact("I am ann@example.com, call +1 415 555 2671 or bob@example.org"),
            "I am [EMAIL_1], call [PHONE_1] or [EMAIL_2]");
  EXPECT_TRUE(r.changed());
  // Second message: the same values (written differently) keep their placeholders.
  EXPECT_EQ(r.redact("Again: ANN@example.com, +1-415-555-2671, card 4111 1111 1111 1111"),
            "Again: [EMAIL_1], [PHONE_1], card [CARD_1]");
  EXPECT_EQ(r.redact("charge 4111-1111-1111-1111, not 5555555555554444"),
            "charge [CARD_1], not [CARD_2]");
  EXPECT_EQ(r.redact("nothing here"), "nothing here");
  EXPECT_EQ(r.counts().at("email"), 2);
  EXPECT_EQ(r.counts().at("phone"), 1);
  EXPECT_EQ(r.counts().at("card"), 2);
  EXPECT_EQ(r.summary(), "card=2,email=2,phone=1");
}

TEST(PiiGuard, RestoreRoundTrip) {
  PiiRedactor r(guard());
  const std::string request =
      "Send the invoice to ann@example.com, IBAN DE89 3704 0044 0532 0130 00, phone 020 7946 "
      "0958.";
  const std::string redacted = r.redact(request);
  EXPECT_EQ(redacted, "Send the invoice to [EMAIL_1], IBAN [IBAN_1], phone [PHONE_1].");
  EXPECT_EQ(redacted.find("ann@"), std::string::npos);
  EXPECT_EQ(r.restore(redacted), request);
  EXPECT_EQ(r.summary(), "email=1,iban=1,phone=1");
}

TEST(PiiGuard, RestoreRepeatedAndUnknownPlaceholders) {
  PiiRedactor r(guard());
  r.redact("me: ann@example.com");
  EXPECT_EQ(r.restore("[EMAIL_1] confirmed; I wrote to [EMAIL_1] and [EMAIL_2] [CARD_1] [x] ["),
            "ann@example.com confirmed; I wrote to ann@example.com and [EMAIL_2] [CARD_1] [x] [");
  EXPECT_EQ(r.restore("[[EMAIL_1]]"), "[ann@example.com]");
  // Nothing redacted: restore is the identity.
  PiiRedactor fresh(guard());
  EXPECT_EQ(fresh.restore("[EMAIL_1]"), "[EMAIL_1]");
}

TEST(PiiGuard, RestoreStreamedAnswer) {
  PiiRedactor r(guard());
  r.redact("ann@example.com");
  const std::string chunk = "Dear [EMA";
  const size_t n = r.restorable_length(chunk);
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(r.restore(chunk.substr(0, n)), "Dear ");
  EXPECT_EQ(r.restore(chunk.substr(n) + "IL_1], hi"), "ann@example.com, hi");
  EXPECT_EQ(r.restorable_length("see [1] and [x y"), 16u);
}

TEST(PiiGuard, ConcurrentFind) {
  const std::string text = "ann@example.com 4111 1111 1111 1111 +44 20 7946 0958";
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) ok[static_cast<size_t>(t)] += guard().find(text).size() == 3;
    });
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 200);
}
