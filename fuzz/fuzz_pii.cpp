// Feeds arbitrary bytes (request text is untrusted) to the PII guard and the cache's decoders:
// matches must lie inside the text, in order and without overlap; redaction must remove every
// matched value; decoding may accept or throw rs::Error, never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cache/redis_store.h"
#include "cache/store.h"
#include "core/error.h"
#include "router/pii_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rs::router::PiiGuard guard(
      rs::router::PiiConfig{true, true, true, true, {{"us_ssn", R"(\b\d{3}-\d{2}-\d{4}\b)"}}});
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto matches = guard.find(text);
    size_t end = 0;
    for (const auto& m : matches) {
      if (m.begin < end || m.end <= m.begin || m.end > text.size()) std::abort();
      end = m.end;
    }
    rs::router::PiiRedactor r(guard);
    const std::string red = r.redact(text);
    if (!matches.empty() && !r.changed()) std::abort();
    (void)r.restore(red);
    (void)r.summary();
  } catch (const rs::Error&) {  // a configured pattern hit PCRE2's match limit: fails closed
  }
  try {
    (void)rs::cache::decode_embedding(text);
  } catch (const rs::Error&) {
  }
  try {
    (void)rs::cache::parse_redis_url(std::string(text));
  } catch (const rs::Error&) {
  }
  return 0;
}
