// Embedding helpers of cache/store.h: normalisation, similarity, a portable byte encoding.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>

#include "cache/store.h"
#include "core/error.h"

namespace rs::cache {

Embedding make_embedding(std::vector<uint32_t> index, std::vector<float> value) {
  RS_CHECK(index.size() == value.size(), "embedding: {} indices but {} values", index.size(),
           value.size());
  std::vector<size_t> order(index.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return index[a] < index[b]; });
  Embedding e;
  double norm = 0;
  for (size_t i : order) {
    if (value[i] == 0 || !std::isfinite(value[i])) continue;
    if (!e.index.empty() && e.index.back() == index[i]) {  // duplicate index: sum
      e.value.back() += value[i];
    } else {
      e.index.push_back(index[i]);
      e.value.push_back(value[i]);
    }
  }
  for (float v : e.value) norm += static_cast<double>(v) * v;
  if (norm <= 0) return {};
  const auto inv = static_cast<float>(1 / std::sqrt(norm));
  for (float& v : e.value) v *= inv;
  return e;
}

Embedding make_dense_embedding(const float* x, size_t n) {
  std::vector<uint32_t> index(n);
  std::iota(index.begin(), index.end(), 0u);
  return make_embedding(std::move(index), std::vector<float>(x, x + n));
}

float similarity(const Embedding& a, const Embedding& b) {
  // Merge of two sorted index lists; for dense vectors this is a plain dot product.
  double dot = 0;
  size_t i = 0, j = 0;
  while (i < a.index.size() && j < b.index.size()) {
    if (a.index[i] < b.index[j]) {
      ++i;
    } else if (a.index[i] > b.index[j]) {
      ++j;
    } else {
      dot += static_cast<double>(a.value[i++]) * b.value[j++];
    }
  }
  return static_cast<float>(dot);
}

namespace {
void put_u32(std::string& out, uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  out.append(reinterpret_cast<const char*>(&v), 4);
}
uint32_t get_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
}  // namespace

std::string encode(const Embedding& e) {
  std::string out;
  out.reserve(4 + 8 * e.index.size());
  put_u32(out, static_cast<uint32_t>(e.index.size()));
  for (size_t i = 0; i < e.index.size(); ++i) {
    put_u32(out, e.index[i]);
    put_u32(out, std::bit_cast<uint32_t>(e.value[i]));
  }
  return out;
}

Embedding decode_embedding(std::string_view bytes) {
  if (bytes.empty()) return {};
  RS_CHECK(bytes.size() >= 4, "cache: an embedding of {} bytes is truncated", bytes.size());
  const uint32_t n = get_u32(bytes.data());
  RS_CHECK(bytes.size() == 4 + 8ull * n, "cache: an embedding of {} values has {} bytes", n,
           bytes.size());
  Embedding e;
  e.index.resize(n);
  e.value.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    e.index[i] = get_u32(bytes.data() + 4 + 8ull * i);
    e.value[i] = std::bit_cast<float>(get_u32(bytes.data() + 8 + 8ull * i));
    RS_CHECK(std::isfinite(e.value[i]), "cache: an embedding holds a non-finite value");
    RS_CHECK(i == 0 || e.index[i] > e.index[i - 1],
             "cache: an embedding's indices are not ascending");
  }
  return e;
}

size_t Entry::bytes() const {
  return key.size() + scope.route.size() + scope.tenant.size() + scope.context.size() +
         value.size() + 8 * embedding.index.size() + 64;
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace rs::cache
