// Feeds arbitrary bytes to the GGUF parser: it must either accept them or throw rs::Error, never
// read out of bounds, crash or allocate without bound. Accepted files are also re-written.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = rs::gguf::File::parse({data, size}, "fuzz");
    uint64_t sum = 0;
    for (const auto& t : file->tensors())
      if (t.nbytes) sum += t.data[0] + t.data[t.nbytes - 1];  // touch both ends of every tensor
    rs::gguf::Writer w(file->alignment());
    for (const auto& [k, v] : file->metadata()) w.set(k, v);
    for (const auto& t : file->tensors()) w.add_tensor_view(t.name, t.type, t.ne, {t.data, t.nbytes});
    if (file->tensors().size() < 64) (void)w.to_bytes();
    (void)sum;
  } catch (const rs::Error&) {
  }
  return 0;
}
