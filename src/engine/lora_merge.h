// `rightsize lora merge BASE ADAPTER OUT.gguf`: writes the base GGUF with every adapted weight
// replaced by W' = W + s·B·A (rows dequantized, the update added in f32, then stored as the
// chosen type). Metadata and the other tensors are copied unchanged, so the merged file loads
// wherever the base does (llama.cpp included) and gives, without the adapter, the logits the base
// gives with it (up to the rounding of the stored type).
#pragma once

#include <string>

#include "model/lora.h"
#include "model/model.h"
#include "model/tensor_convert.h"

namespace rs {

enum class MergeType { Original, F32, F16 };

struct MergeOptions {
  // Original keeps each adapted tensor's type (re-quantizing quantized weights, which adds their
  // rounding error on top of the update); F32/F16 store adapted tensors as that type.
  MergeType type = MergeType::Original;
  int n_threads = 0;
  ProgressFn progress;
};

// rs::Error when the base is not a GGUF file (its metadata is copied) or the adapter was bound
// to another model.
WriteReport merge_lora(const Model& base, const LoraAdapter& adapter, const std::string& out_path,
                       const MergeOptions& opts);

}  // namespace rs
