// Feeds arbitrary bytes to the safetensors parser: accept or throw rs::Error, never crash.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = rs::safetensors::File::parse({data, size}, "fuzz");
    uint64_t sum = 0;
    for (const auto& t : file->tensors())
      if (t.nbytes) sum += t.data[0] + t.data[t.nbytes - 1];
    (void)sum;
  } catch (const rs::Error&) {
  }
  return 0;
}
