// Feeds arbitrary bytes to the router file parser: accept or throw rs::Error, never crash.
// The input gets its correct trailing checksum appended, so that the fuzzer gets past the
// checksum to the header and array checks instead of being rejected there every time.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "router/router_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  uint64_t h = 1469598103934665603ull;  // FNV-1a, as router_file.cpp
  for (uint8_t c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(h >> (8 * i)));
  try {
    const auto parts = rs::router::parse_router(bytes, "fuzz");
    if (parts.backend == rs::router::Backend::kTfidf) {
      const rs::router::IntentClassifier clf(parts);
      rs::router::IntentClassifier::Scratch s;
      (void)clf.classify("fuzz the card arrival", s);
    }
  } catch (const rs::Error&) {
  }
  return 0;
}
