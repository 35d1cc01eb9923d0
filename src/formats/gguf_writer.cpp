// GGUF v3 writer; see gguf.h for the layout.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "formats/gguf.h"

namespace rs::gguf {
namespace {

// Appends to a byte vector (to_bytes) ...
struct VectorSink {
  std::vector<uint8_t>& out;
  void put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  uint64_t pos() const { return out.size(); }
};

// ... or streams to a FILE (write), so the tensor data is never held twice.
struct FileSink {
  std::FILE* f;
  const std::string& path;
  uint64_t written = 0;
  void put(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) fail("cannot write '{}': {}", path, std::strerror(errno));
    written += n;
  }
  uint64_t pos() const { return written; }
};

template <typename Sink, typename T>
void put(Sink& s, T v) {
  s.put(&v, sizeof(T));
}

template <typename Sink>
void put_string(Sink& s, const std::string& str) {
  put<Sink, uint64_t>(s, str.size());
  s.put(str.data(), str.size());
}

template <typename Sink>
void put_scalar(Sink& s, ValueType t, int64_t i, double f) {
  switch (t) {
    case ValueType::UINT8: put<Sink, uint8_t>(s, static_cast<uint8_t>(i)); break;
    case ValueType::INT8: put<Sink, int8_t>(s, static_cast<int8_t>(i)); break;
    case ValueType::UINT16: put<Sink, uint16_t>(s, static_cast<uint16_t>(i)); break;
    case ValueType::INT16: put<Sink, int16_t>(s, static_cast<int16_t>(i)); break;
    case ValueType::UINT32: put<Sink, uint32_t>(s, static_cast<uint32_t>(i)); break;
    case ValueType::INT32: put<Sink, int32_t>(s, static_cast<int32_t>(i)); break;
    case ValueType::UINT64: put<Sink, uint64_t>(s, static_cast<uint64_t>(i)); break;
    case ValueType::INT64: put<Sink, int64_t>(s, i); break;
    case ValueType::FLOAT32: put<Sink, float>(s, static_cast<float>(f)); break;
    case ValueType::FLOAT64: put<Sink, double>(s, f); break;
    case ValueType::BOOL: put<Sink, uint8_t>(s, i ? 1 : 0); break;
    default: fail("GGUF writer: {} is not a scalar type", value_type_name(t));
  }
}

template <typename Sink>
void put_value(Sink& s, const Value& v) {
  if (v.type == ValueType::STRING) return put_string(s, v.s);
  if (v.type != ValueType::ARRAY) return put_scalar(s, v.type, v.i, v.f);
  put<Sink, uint32_t>(s, static_cast<uint32_t>(v.elem_type));
  put<Sink, uint64_t>(s, v.array_size());
  for (const auto& str : v.strs) put_string(s, str);
  for (double f : v.floats) put_scalar(s, v.elem_type, 0, f);
  for (int64_t i : v.ints) put_scalar(s, v.elem_type, i, 0);
  for (const auto& n : v.nested) put_value(s, n);
}

template <typename Sink>
void pad_to(Sink& s, uint64_t alignment) {
  static const uint8_t zeros[64] = {};
  uint64_t pad = (alignment - s.pos() % alignment) % alignment;
  while (pad) {
    const uint64_t n = std::min<uint64_t>(pad, sizeof zeros);
    s.put(zeros, n);
    pad -= n;
  }
}

}  // namespace

Writer::Writer(uint64_t alignment) : alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)))
    fail("GGUF writer: alignment {} is not a power of two", alignment);
  if (alignment != 32) set("general.alignment", Value::of_u32(static_cast<uint32_t>(alignment)));
}

void Writer::set(const std::string& key, Value v) {
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

void Writer::remove(const std::string& key) {
  std::erase_if(kv_, [&](const auto& kv) { return kv.first == key; });
}

void Writer::add_tensor(const std::string& name, DType type, std::vector<int64_t> ne,
                        std::vector<uint8_t> data) {
  tensors_.push_back({name, type, std::move(ne), std::move(data), {}, {}});
  tensors_.back().view = tensors_.back().owned;
}

void Writer::add_tensor_view(const std::string& name, DType type, std::vector<int64_t> ne,
                             std::span<const uint8_t> data) {
  tensors_.push_back({name, type, std::move(ne), {}, data, {}});
}

void Writer::add_tensor_lazy(const std::string& name, DType type, std::vector<int64_t> ne,
                             Producer produce) {
  tensors_.push_back({name, type, std::move(ne), {}, {}, std::move(produce)});
}

template <typename Sink>
void Writer::emit(Sink& s) const {
  // Validate first so an error leaves nothing behind (lazy tensors are checked when produced).
  auto needed = [](const PendingTensor& t) {
    int64_t n = 1;
    for (auto d : t.ne) n *= d;
    return row_bytes(dtype_info(t.type), static_cast<uint64_t>(n));
  };
  for (const auto& t : tensors_) {
    const auto& info = dtype_info(t.type);
    RS_CHECK(!t.ne.empty() && t.ne.size() <= 4, "GGUF writer: tensor '{}' needs 1 to 4 dims", t.name);
    RS_CHECK(t.ne[0] % info.block_size == 0, "GGUF writer: tensor '{}' row {} is not a multiple of {}",
             t.name, t.ne[0], info.block_size);
    RS_CHECK(t.produce || t.view.size() == needed(t),
             "GGUF writer: tensor '{}' has {} bytes of data, its shape needs {}", t.name,
             t.view.size(), needed(t));
  }
  put<Sink, uint32_t>(s, 0x46554747);
  put<Sink, uint32_t>(s, 3);
  put<Sink, uint64_t>(s, tensors_.size());
  put<Sink, uint64_t>(s, kv_.size());
  for (const auto& [key, v] : kv_) {
    put_string(s, key);
    put<Sink, uint32_t>(s, static_cast<uint32_t>(v.type));
    put_value(s, v);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(s, t.name);
    put<Sink, uint32_t>(s, static_cast<uint32_t>(t.ne.size()));
    for (auto d : t.ne) put<Sink, uint64_t>(s, static_cast<uint64_t>(d));
    put<Sink, uint32_t>(s, static_cast<uint32_t>(t.type));
    put<Sink, uint64_t>(s, offset);
    offset += (needed(t) + alignment_ - 1) / alignment_ * alignment_;
  }
  pad_to(s, alignment_);
  for (const auto& t : tensors_) {
    if (t.produce) {
      const std::vector<uint8_t> bytes = t.produce();  // freed right after it is written
      RS_CHECK(bytes.size() == needed(t),
               "GGUF writer: tensor '{}' was produced with {} bytes, its shape needs {}", t.name,
               bytes.size(), needed(t));
      s.put(bytes.data(), bytes.size());
    } else {
      s.put(t.view.data(), t.view.size());
    }
    pad_to(s, alignment_);
  }
}

std::vector<uint8_t> Writer::to_bytes() const {
  std::vector<uint8_t> out;
  VectorSink s{out};
  emit(s);
  return out;
}

void Writer::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("cannot create '{}': {}", tmp, std::strerror(errno));
  try {
    FileSink s{f, tmp};
    emit(s);
    if (std::fflush(f) != 0) fail("cannot write '{}': {}", tmp, std::strerror(errno));
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write '{}': {}", tmp, std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  }
}

}  // namespace rs::gguf
