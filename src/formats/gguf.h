// GGUF model files (versions 2 and 3): reader over an mmap'd file and writer.
//
// Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
// metadata key/value pairs, tensor infos (name, n_dims, ne[n_dims], type, offset), padding to
// `general.alignment` (default 32), then the tensor data. Every count, length, dimension and
// offset is validated against the file size before it is used, so a corrupt file is an rs::Error,
// never an out-of-bounds read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace rs::gguf {

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
std::string_view value_type_name(ValueType t);

// One metadata value. Scalars live in `i` (every integer type and bool; UINT64 bit-cast), `f`
// (FLOAT32/64) or `s`; arrays keep their element type and store elements in the matching vector,
// so a 128k-entry vocabulary is one vector of strings, not 128k variants.
struct Value {
  ValueType type = ValueType::UINT32;
  ValueType elem_type = ValueType::UINT32;  // for ARRAY
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;        // array of integer or bool
  std::vector<double> floats;       // array of FLOAT32/FLOAT64
  std::vector<std::string> strs;    // array of STRING
  std::vector<Value> nested;        // array of ARRAY

  size_t array_size() const;
  bool is_integer() const;
  bool is_float() const { return type == ValueType::FLOAT32 || type == ValueType::FLOAT64; }
  std::string to_string(size_t max_items = 8) const;  // for `rightsize info`

  static Value of_u32(uint32_t v);
  static Value of_i32(int32_t v);
  static Value of_u64(uint64_t v);
  static Value of_f32(float v);
  static Value of_bool(bool v);
  static Value of_string(std::string v);
  static Value of_strings(std::vector<std::string> v);
  static Value of_f32s(std::vector<float> v);
  static Value of_i32s(std::vector<int32_t> v);
};

struct TensorInfo {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> ne;  // ne[0] is the fastest-varying (row length), as in ggml
  uint64_t offset = 0;      // relative to the start of the data section
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t n_elements() const;
  int64_t rows() const { return ne.empty() ? 1 : n_elements() / ne[0]; }
};

class File {
 public:
  // Maps and parses a file; throws rs::Error naming the file and the first inconsistency.
  static std::unique_ptr<File> open(const std::string& path);
  // Parses bytes that the caller keeps alive (fuzzer, in-memory tests).
  static std::unique_ptr<File> parse(std::span<const uint8_t> bytes, std::string name = "<memory>");

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  size_t file_size() const { return bytes_.size(); }
  const std::string& name() const { return name_; }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* find(std::string_view key) const;

  // Typed getters: nullopt when the key is absent; rs::Error when it has the wrong type.
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  const std::vector<std::string>* get_strings(std::string_view key) const;
  const std::vector<double>* get_floats(std::string_view key) const;
  const std::vector<int64_t>* get_ints(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* tensor(std::string_view name) const;

 private:
  File() = default;
  void parse_all();

  MappedFile map_;
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, Value>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file. Metadata keeps insertion order; setting an existing key replaces its
// value in place. Tensor data is either owned by the writer, borrowed (the caller keeps it
// alive until write() returns), or produced on demand while the file is written, so quantizing
// or generating a large model holds one tensor's bytes at a time, never the whole model.
class Writer {
 public:
  // Returns the tensor's bytes (exactly the size its type and shape need); called once per
  // write()/to_bytes(), in tensor order, right before the data is written.
  using Producer = std::function<std::vector<uint8_t>()>;

  explicit Writer(uint64_t alignment = 32);

  void set(const std::string& key, Value v);
  void remove(const std::string& key);
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> ne,
                  std::vector<uint8_t> data);
  void add_tensor_view(const std::string& name, DType type, std::vector<int64_t> ne,
                       std::span<const uint8_t> data);
  void add_tensor_lazy(const std::string& name, DType type, std::vector<int64_t> ne,
                       Producer produce);

  // Writes to `path`.tmp, flushes, then renames, so a failure (disk full) never leaves a
  // half-written file under the final name. Throws rs::Error on any I/O failure.
  void write(const std::string& path) const;
  // The whole file as bytes (tests).
  std::vector<uint8_t> to_bytes() const;

 private:
  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> owned;
    std::span<const uint8_t> view;
    Producer produce;  // set for lazy tensors
  };
  template <typename Sink>
  void emit(Sink& sink) const;

  uint64_t alignment_;
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace rs::gguf
