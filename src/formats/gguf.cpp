#include "formats/gguf.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "core/error.h"

namespace rs::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr int kMaxDims = 4;              // GGML_MAX_DIMS
constexpr size_t kMaxNameLen = 256;
constexpr int kMaxArrayDepth = 4;

size_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      return 1;
    case ValueType::UINT16:
    case ValueType::INT16:
      return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32:
      return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
      return 8;
    case ValueType::STRING:
      return 8;  // at least the length prefix
    case ValueType::ARRAY:
      return 12;  // at least type + count
  }
  return 0;
}

bool valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

// Bounds-checked little-endian cursor over the file bytes.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> b, const std::string& name) : b_(b), name_(name) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return b_.size() - pos_; }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      fail("{}: truncated or corrupt GGUF: {} needs {} bytes at offset {}, but only {} remain",
           name_, what, n, pos_, remaining());
  }

 private:
  std::span<const uint8_t> b_;
  const std::string& name_;
  size_t pos_ = 0;
};

Value read_value(Cursor& c, ValueType type, int depth, const std::string& file);

void read_array(Cursor& c, Value& v, int depth, const std::string& file) {
  if (depth >= kMaxArrayDepth) fail("{}: corrupt GGUF: arrays nested deeper than {}", file, depth);
  const uint32_t et = c.read<uint32_t>("array element type");
  if (!valid_value_type(et)) fail("{}: corrupt GGUF: unknown array element type {}", file, et);
  v.elem_type = static_cast<ValueType>(et);
  const uint64_t n = c.read<uint64_t>("array length");
  // Each element takes at least scalar_size bytes, so a count larger than that allows is corrupt.
  if (n > c.remaining() / scalar_size(v.elem_type))
    fail("{}: corrupt GGUF: array of {} elements does not fit in the {} bytes left", file, n,
         c.remaining());
  const auto count = static_cast<size_t>(n);
  switch (v.elem_type) {
    case ValueType::STRING:
      v.strs.reserve(count);
      for (size_t k = 0; k < count; ++k) v.strs.push_back(c.read_string("array string"));
      break;
    case ValueType::FLOAT32:
    case ValueType::FLOAT64:
      v.floats.reserve(count);
      for (size_t k = 0; k < count; ++k) v.floats.push_back(read_value(c, v.elem_type, depth, file).f);
      break;
    case ValueType::ARRAY:
      v.nested.reserve(count);
      for (size_t k = 0; k < count; ++k) v.nested.push_back(read_value(c, ValueType::ARRAY, depth + 1, file));
      break;
    default:
      v.ints.reserve(count);
      for (size_t k = 0; k < count; ++k) v.ints.push_back(read_value(c, v.elem_type, depth, file).i);
      break;
  }
}

Value read_value(Cursor& c, ValueType type, int depth, const std::string& file) {
  Value v;
  v.type = type;
  switch (type) {
    case ValueType::UINT8: v.i = c.read<uint8_t>("u8"); break;
    case ValueType::INT8: v.i = c.read<int8_t>("i8"); break;
    case ValueType::UINT16: v.i = c.read<uint16_t>("u16"); break;
    case ValueType::INT16: v.i = c.read<int16_t>("i16"); break;
    case ValueType::UINT32: v.i = c.read<uint32_t>("u32"); break;
    case ValueType::INT32: v.i = c.read<int32_t>("i32"); break;
    case ValueType::UINT64: v.i = static_cast<int64_t>(c.read<uint64_t>("u64")); break;
    case ValueType::INT64: v.i = c.read<int64_t>("i64"); break;
    case ValueType::FLOAT32: v.f = c.read<float>("f32"); break;
    case ValueType::FLOAT64: v.f = c.read<double>("f64"); break;
    case ValueType::BOOL: {
      const uint8_t b = c.read<uint8_t>("bool");
      if (b > 1) fail("{}: corrupt GGUF: bool value {}", file, b);
      v.i = b;
      break;
    }
    case ValueType::STRING: v.s = c.read_string("string"); break;
    case ValueType::ARRAY: read_array(c, v, depth, file); break;
  }
  return v;
}

}  // namespace

std::string_view value_type_name(ValueType t) {
  static constexpr std::string_view names[] = {"u8",  "i8",   "u16",   "i16", "u32", "i32", "f32",
                                               "bool", "str", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(names) ? names[i] : "?";
}

size_t Value::array_size() const {
  if (type != ValueType::ARRAY) return 0;
  return ints.size() + floats.size() + strs.size() + nested.size();
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::UINT16: case ValueType::INT16:
    case ValueType::UINT32: case ValueType::INT32: case ValueType::UINT64: case ValueType::INT64:
      return true;
    default:
      return false;
  }
}

std::string Value::to_string(size_t max_items) const {
  switch (type) {
    case ValueType::STRING: {
      std::string out = s.size() > 80 ? s.substr(0, 77) + "..." : s;
      for (auto& ch : out)
        if (ch == '\n') ch = ' ';
      return "\"" + out + "\"";
    }
    case ValueType::FLOAT32:
    case ValueType::FLOAT64: return fmt::format("{:g}", f);
    case ValueType::BOOL: return i ? "true" : "false";
    case ValueType::UINT64: return fmt::format("{}", static_cast<uint64_t>(i));
    case ValueType::ARRAY: {
      std::string out = fmt::format("{}[{}] [", value_type_name(elem_type), array_size());
      const size_t n = std::min(array_size(), max_items);
      for (size_t k = 0; k < n; ++k) {
        if (k) out += ", ";
        if (!strs.empty()) out += "\"" + strs[k] + "\"";
        else if (!floats.empty()) out += fmt::format("{:g}", floats[k]);
        else if (!ints.empty()) out += fmt::format("{}", ints[k]);
        else out += "[...]";
      }
      if (array_size() > n) out += ", ...";
      return out + "]";
    }
    default: return fmt::format("{}", i);
  }
}

Value Value::of_u32(uint32_t v) { Value x; x.type = ValueType::UINT32; x.i = v; return x; }
Value Value::of_i32(int32_t v) { Value x; x.type = ValueType::INT32; x.i = v; return x; }
Value Value::of_u64(uint64_t v) { Value x; x.type = ValueType::UINT64; x.i = static_cast<int64_t>(v); return x; }
Value Value::of_f32(float v) { Value x; x.type = ValueType::FLOAT32; x.f = v; return x; }
Value Value::of_bool(bool v) { Value x; x.type = ValueType::BOOL; x.i = v; return x; }
Value Value::of_string(std::string v) { Value x; x.type = ValueType::STRING; x.s = std::move(v); return x; }
Value Value::of_strings(std::vector<std::string> v) {
  Value x; x.type = ValueType::ARRAY; x.elem_type = ValueType::STRING; x.strs = std::move(v); return x;
}
Value Value::of_f32s(std::vector<float> v) {
  Value x; x.type = ValueType::ARRAY; x.elem_type = ValueType::FLOAT32;
  x.floats.assign(v.begin(), v.end()); return x;
}
Value Value::of_i32s(std::vector<int32_t> v) {
  Value x; x.type = ValueType::ARRAY; x.elem_type = ValueType::INT32;
  x.ints.assign(v.begin(), v.end()); return x;
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (auto d : ne) n *= d;
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
  Cursor c(bytes_, name_);
  if (bytes_.size() < 4) fail("{}: not a GGUF file (only {} bytes)", name_, bytes_.size());
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != kMagic)
    fail("{}: not a GGUF file (magic {:02x} {:02x} {:02x} {:02x}, expected 'GGUF')", name_,
         bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
  version_ = c.read<uint32_t>("version");
  if (version_ == 1) fail("{}: GGUF version 1 is obsolete; convert the model again with a current tool", name_);
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xFFFF) == 0) fail("{}: big-endian GGUF files are not supported", name_);
    fail("{}: unsupported GGUF version {} (supported: 2, 3)", name_, version_);
  }
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Each key/value takes at least 12 bytes and each tensor info at least 24, so larger counts
  // cannot be right and must not drive a huge allocation.
  if (n_kv > c.remaining() / 12) fail("{}: corrupt GGUF: {} metadata entries cannot fit in the file", name_, n_kv);
  if (n_tensors > c.remaining() / 24) fail("{}: corrupt GGUF: {} tensors cannot fit in the file", name_, n_tensors);

  kv_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = c.read_string("metadata key");
    const uint32_t t = c.read<uint32_t>("metadata type");
    if (!valid_value_type(t)) fail("{}: corrupt GGUF: key '{}' has unknown value type {}", name_, key, t);
    Value v = read_value(c, static_cast<ValueType>(t), 0, name_);
    if (kv_index_.count(key)) fail("{}: corrupt GGUF: duplicate metadata key '{}'", name_, key);
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const Value* a = find("general.alignment")) {
    if (!a->is_integer() || a->i <= 0 || (a->i & (a->i - 1)) != 0 || a->i > (1 << 20))
      fail("{}: corrupt GGUF: general.alignment must be a power of two, got {}", name_, a->to_string());
    alignment_ = static_cast<uint64_t>(a->i);
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    TensorInfo ti;
    ti.name = c.read_string("tensor name");
    if (ti.name.size() > kMaxNameLen) fail("{}: corrupt GGUF: tensor name of {} bytes", name_, ti.name.size());
    const uint32_t n_dims = c.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      fail("{}: corrupt GGUF: tensor '{}' has {} dimensions (1 to {} allowed)", name_, ti.name, n_dims, kMaxDims);
    int64_t n_elem = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t ne = static_cast<int64_t>(c.read<uint64_t>("tensor dimension"));
      if (ne < 0 || (ne > 0 && n_elem > std::numeric_limits<int64_t>::max() / ne))
        fail("{}: corrupt GGUF: tensor '{}' has an absurd dimension {}", name_, ti.name, ne);
      n_elem *= ne;
      ti.ne.push_back(ne);
    }
    const uint32_t raw_type = c.read<uint32_t>("tensor type");
    const auto info = dtype_info(raw_type);
    if (!info) fail("{}: tensor '{}' has unknown type id {}", name_, ti.name, raw_type);
    ti.type = info->type;
    ti.offset = c.read<uint64_t>("tensor offset");
    if (ti.ne[0] % info->block_size != 0)
      fail("{}: corrupt GGUF: tensor '{}' row of {} values is not a multiple of the {} block size {}",
           name_, ti.name, ti.ne[0], info->name, info->block_size);
    const uint64_t blocks = static_cast<uint64_t>(n_elem) / info->block_size;
    if (blocks > std::numeric_limits<uint64_t>::max() / info->block_bytes)
      fail("{}: corrupt GGUF: tensor '{}' is too large", name_, ti.name);
    ti.nbytes = static_cast<size_t>(blocks * info->block_bytes);
    if (ti.offset % alignment_ != 0)
      fail("{}: corrupt GGUF: tensor '{}' offset {} is not aligned to {}", name_, ti.name, ti.offset, alignment_);
    if (tensor_index_.count(ti.name)) fail("{}: corrupt GGUF: duplicate tensor '{}'", name_, ti.name);
    tensor_index_.emplace(ti.name, tensors_.size());
    tensors_.push_back(std::move(ti));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t header_end = c.pos();
  const uint64_t data_start = (header_end + alignment_ - 1) / alignment_ * alignment_;
  if (n_tensors > 0 && data_start > bytes_.size())
    fail("{}: truncated GGUF: the data section would start at {} but the file has {} bytes", name_,
         data_start, bytes_.size());
  const uint64_t data_size = bytes_.size() > data_start ? bytes_.size() - data_start : 0;
  for (auto& ti : tensors_) {
    if (ti.offset > data_size || ti.nbytes > data_size - ti.offset)
      fail("{}: truncated or corrupt GGUF: tensor '{}' ({} bytes at data offset {}) runs past the "
           "end of the file ({} data bytes)",
           name_, ti.name, ti.nbytes, ti.offset, data_size);
    ti.data = bytes_.data() + data_start + ti.offset;
  }
}

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

std::optional<uint64_t> File::get_uint(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer() || (v->i < 0 && v->type != ValueType::UINT64))
    fail("{}: metadata '{}' should be a non-negative integer, got {}", name_, key, v->to_string());
  return static_cast<uint64_t>(v->i);
}

std::optional<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) fail("{}: metadata '{}' should be an integer, got {}", name_, key, v->to_string());
  return v->i;
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_float()) return v->f;
  if (v->is_integer()) return static_cast<double>(v->i);
  fail("{}: metadata '{}' should be a number, got {}", name_, key, v->to_string());
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::BOOL) fail("{}: metadata '{}' should be a bool, got {}", name_, key, v->to_string());
  return v->i != 0;
}

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::STRING) fail("{}: metadata '{}' should be a string, got {}", name_, key, v->to_string());
  return v->s;
}

const std::vector<std::string>* File::get_strings(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return nullptr;
  if (v->type != ValueType::ARRAY || v->elem_type != ValueType::STRING)
    fail("{}: metadata '{}' should be an array of strings, got {}", name_, key, v->to_string());
  return &v->strs;
}

const std::vector<double>* File::get_floats(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return nullptr;
  if (v->type != ValueType::ARRAY || v->floats.size() != v->array_size())
    fail("{}: metadata '{}' should be an array of floats, got {}", name_, key, v->to_string());
  return &v->floats;
}

const std::vector<int64_t>* File::get_ints(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return nullptr;
  if (v->type != ValueType::ARRAY || v->ints.size() != v->array_size())
    fail("{}: metadata '{}' should be an array of integers, got {}", name_, key, v->to_string());
  return &v->ints;
}

const TensorInfo* File::tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace rs::gguf
