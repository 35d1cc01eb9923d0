#include "formats/safetensors_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace rs::safetensors {

void write_f32(const std::string& path, const std::vector<F32Tensor>& tensors,
               const std::map<std::string, std::string>& metadata) {
  std::vector<const F32Tensor*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->name < b->name; });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const F32Tensor* t : order) {
    int64_t n = 1;
    for (int64_t d : t->shape) n *= d;
    RS_CHECK(n == static_cast<int64_t>(t->values.size()),
             "safetensors: tensor '{}' has {} values but its shape needs {}", t->name,
             t->values.size(), n);
    const uint64_t bytes = static_cast<uint64_t>(n) * 4;
    header[t->name] = {
        {"dtype", "F32"}, {"shape", t->shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    RS_CHECK(out.good(), "cannot write '{}': {}", tmp, std::strerror(errno));
    uint8_t len[8];
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));  // little-endian
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    // Values are written as the host's floats: rightsize only builds for little-endian targets.
    for (const F32Tensor* t : order)
      out.write(reinterpret_cast<const char*>(t->values.data()),
                static_cast<std::streamsize>(t->values.size() * 4));
    out.flush();
    RS_CHECK(out.good(), "writing '{}' failed (disk full?)", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  RS_CHECK(!ec, "cannot rename '{}' to '{}': {}", tmp, path, ec.message());
}

}  // namespace rs::safetensors
