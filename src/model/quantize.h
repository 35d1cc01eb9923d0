// `rightsize quantize IN OUT TYPE`: converts a GGUF model to another mix (F32/F16/BF16 → Q8_0,
// Q4_0, Q4_K_M, Q6_K, or between float types), choosing each tensor's type with llama-quantize's
// rules (quant_policy.h) and its byte-exact quantizers (kernels/quant.h). The input stays mmap'd
// and the output is produced tensor by tensor while it is written, so quantizing a 1B model needs
// about one tensor of extra memory, not a second copy of the model.
#pragma once

#include <string>

#include "model/quant_policy.h"
#include "model/tensor_convert.h"

namespace rs {

struct QuantizeOptions {
  QuantMix mix = QuantMix::Q8_0;
  bool pure = false;              // every quantizable weight in the base type
  bool allow_requantize = false;  // accept already-quantized inputs (loses precision twice)
  int n_threads = 0;              // 0: all cores
  ProgressFn progress;
};

// Writes `out_path` atomically; metadata is copied from the input with general.file_type and
// general.quantization_version set as llama-quantize sets them. Throws rs::Error, before
// anything is written, for an unreadable input, an already-quantized tensor without
// allow_requantize, or a tensor type rightsize cannot read.
WriteReport quantize_model(const std::string& in_path, const std::string& out_path,
                           const QuantizeOptions& opts);

}  // namespace rs
