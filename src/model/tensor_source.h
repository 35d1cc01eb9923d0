// Where a model's tensors come from: a GGUF file or a Hugging Face folder of safetensors shards.
// Both are presented under GGUF tensor names ("blk.3.attn_q.weight") with GGUF shapes
// (ne[0] = row length), so the model code has one naming scheme. The source owns the mapped files;
// tensor data is never copied.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "model/hparams.h"

namespace rs::gguf {
class File;
}

namespace rs {

struct TensorRef {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> ne;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  const TensorRef* find(const std::string& name) const;
  const std::unordered_map<std::string, TensorRef>& all() const { return tensors_; }
  const HParams& hparams() const { return hparams_; }
  // The GGUF file when the model came from one (tokenizer metadata lives there), else nullptr.
  virtual const gguf::File* gguf() const { return nullptr; }
  // Human-readable origin for messages.
  virtual std::string describe() const = 0;
  // The model keeps its own copy of t's bytes (repacked weights): the source may drop its pages
  // from memory. The data stays readable (a GGUF file's pages are mapped back in on access).
  virtual void release(const TensorRef& t) const { (void)t; }

 protected:
  void add(TensorRef t);
  HParams hparams_;
  std::unordered_map<std::string, TensorRef> tensors_;
};

// Opens a GGUF file, or a folder with config.json + *.safetensors (a path ending in
// config.json or a .safetensors file inside such a folder also works). Throws rs::Error.
std::unique_ptr<TensorSource> open_tensor_source(const std::string& path);

// The HF folder reader; exposed for tests.
std::unique_ptr<TensorSource> open_hf_folder(const std::string& dir);
std::unique_ptr<TensorSource> open_gguf_source(const std::string& path);

}  // namespace rs
