// The SSE parser against the WHATWG parsing rules, fed in every possible split of the bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upstream/sse.h"

namespace rs::upstream {
namespace {

std::vector<SseEvent> parse_in_pieces(const std::string& text, size_t piece) {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) {
    out.push_back(e);
    return true;
  });
  for (size_t i = 0; i < text.size(); i += piece) p.feed(std::string_view(text).substr(i, piece));
  p.finish();
  return out;
}

TEST(Sse, OpenAiStreamInAnySplit) {
  const std::string text =
      ": keep-alive\r\n\r\n"
      "data: {\"a\":1}\r\n\r\n"
      "event: message\ndata: {\"b\":2}\n\n"
      "data:line1\ndata: line2\rid: 7\rretry: 10\r\r"
      "data: [DONE]\n\n"
      "data: never dispatched";  // no closing blank line: dropped at end of stream
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    const auto ev = parse_in_pieces(text, piece);
    ASSERT_EQ(ev.size(), 4u) << "piece size " << piece;
    EXPECT_EQ(ev[0].data, "{\"a\":1}");
    EXPECT_EQ(ev[0].event, "");
    EXPECT_EQ(ev[1].data, "{\"b\":2}");
    EXPECT_EQ(ev[1].event, "message");
    EXPECT_EQ(ev[2].data, "line1\nline2");  // one leading space is stripped, none otherwise
    EXPECT_EQ(ev[3].data, "[DONE]");
  }
}

TEST(Sse, BlankLinesWithoutDataDispatchNothing) {
  const auto ev = parse_in_pieces("\n\n\r\n: c\n\nevent: x\n\n", 3);
  EXPECT_TRUE(ev.empty());
}

TEST(Sse, EmptyDataLineIsAnEvent) {
  const auto ev = parse_in_pieces("data\n\ndata:\ndata:\n\n", 2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].data, "");
  EXPECT_EQ(ev[1].data, "\n");
}

TEST(Sse, HandlerStopsTheParser) {
  int n = 0;
  SseParser p([&](const SseEvent&) { return ++n < 2; });
  EXPECT_TRUE(p.feed("data: 1\n\n"));
  EXPECT_FALSE(p.feed("data: 2\n\ndata: 3\n\n"));
  EXPECT_FALSE(p.feed("data: 4\n\n"));
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace rs::upstream
