// Tensor element types with the exact numbering and block layout of GGML/GGUF. A quantized type
// stores `block_size` values in `block_bytes` bytes; a row of n values (n a multiple of
// block_size) takes n / block_size * block_bytes bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace rs {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

struct DTypeInfo {
  DType type;
  std::string_view name;  // as llama.cpp prints it: "f32", "q4_K", ...
  uint32_t block_size;    // values per block (1 for plain types)
  uint32_t block_bytes;   // bytes per block
  bool supported;         // can rightsize compute with it (dequantize + dot)?
};

// Info for a raw GGUF type id; nullopt for ids that GGML does not define.
std::optional<DTypeInfo> dtype_info(uint32_t raw);
const DTypeInfo& dtype_info(DType t);
std::string_view dtype_name(DType t);
// Parses "f32", "Q4_K", "q8_0", ... (case-insensitive).
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes taken by a row of n values; n must be a multiple of the block size (checked by callers).
inline size_t row_bytes(const DTypeInfo& info, uint64_t n) {
  return static_cast<size_t>(n / info.block_size * info.block_bytes);
}

}  // namespace rs
