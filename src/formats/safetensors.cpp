#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace rs::safetensors {
namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the format's own limit is 100 MB

struct DTypeName {
  DType t;
  std::string_view name;
  size_t size;
};
constexpr DTypeName kDTypes[] = {
    {DType::F64, "F64", 8},  {DType::F32, "F32", 4},   {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8},  {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},  {DType::I8, "I8", 1},     {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

}  // namespace

size_t dtype_size(DType t) {
  for (const auto& d : kDTypes)
    if (d.t == t) return d.size;
  return 0;
}

std::string_view dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.t == t) return d.name;
  return "?";
}

int64_t Tensor::n_elements() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::unique_ptr<File> File::open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->map_ = MappedFile(path);
  f->bytes_ = f->map_.bytes();
  f->name_ = path;
  f->parse_all();
  return f;
}

std::unique_ptr<File> File::parse(std::span<const uint8_t> bytes, std::string name) {
  std::unique_ptr<File> f(new File());
  f->bytes_ = bytes;
  f->name_ = std::move(name);
  f->parse_all();
  return f;
}

void File::parse_all() {
  using nlohmann::json;
  if (bytes_.size() < 8) fail("{}: not a safetensors file (only {} bytes)", name_, bytes_.size());
  uint64_t header_len;
  std::memcpy(&header_len, bytes_.data(), 8);
  if (header_len > kMaxHeader || header_len > bytes_.size() - 8)
    fail("{}: corrupt safetensors file: header of {} bytes in a {}-byte file", name_, header_len,
         bytes_.size());
  const auto* hp = reinterpret_cast<const char*>(bytes_.data() + 8);
  json header = json::parse(hp, hp + header_len, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    fail("{}: corrupt safetensors file: the header is not a JSON object", name_);

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = bytes_.size() - data_start;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) fail("{}: corrupt safetensors file: __metadata__ is not an object", name_);
      for (auto m = v.begin(); m != v.end(); ++m)
        if (m.value().is_string()) metadata_[m.key()] = m.value().get<std::string>();
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
        !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() ||
        v["data_offsets"].size() != 2)
      fail("{}: corrupt safetensors file: entry '{}' needs dtype, shape and data_offsets", name_, key);
    Tensor t;
    t.name = key;
    const std::string dt = v["dtype"].get<std::string>();
    auto d = std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](const auto& x) { return x.name == dt; });
    if (d == std::end(kDTypes)) fail("{}: tensor '{}' has unsupported dtype '{}'", name_, key, dt);
    t.dtype = d->t;
    int64_t n = 1;
    for (const auto& s : v["shape"]) {
      if (!s.is_number_unsigned()) fail("{}: corrupt safetensors file: tensor '{}' has a bad shape", name_, key);
      const auto dim = s.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (dim > 0 && static_cast<uint64_t>(n) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dim))
        fail("{}: corrupt safetensors file: tensor '{}' has an absurd dimension {}", name_, key, dim);
      n *= static_cast<int64_t>(dim);
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail("{}: corrupt safetensors file: tensor '{}' has bad data_offsets", name_, key);
    const auto begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size)
      fail("{}: truncated or corrupt safetensors file: tensor '{}' bytes [{}, {}) lie outside the "
           "{} data bytes",
           name_, key, begin, end, data_size);
    if (static_cast<uint64_t>(n) > std::numeric_limits<uint64_t>::max() / d->size ||
        static_cast<uint64_t>(n) * d->size != end - begin)
      fail("{}: corrupt safetensors file: tensor '{}' has {} bytes but its shape needs {}", name_, key,
           end - begin, static_cast<uint64_t>(n) * d->size);
    t.data = bytes_.data() + data_start + begin;
    t.nbytes = static_cast<size_t>(end - begin);
    ranges.emplace_back(begin, end);
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t k = 1; k < ranges.size(); ++k)
    if (ranges[k].first < ranges[k - 1].second)
      fail("{}: corrupt safetensors file: two tensors share bytes at offset {}", name_, ranges[k].first);
}

const Tensor* File::tensor(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace rs::safetensors
