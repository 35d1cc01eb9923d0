#include "model/tensor_source.h"

#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"

namespace rs {

const TensorRef* TensorSource::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void TensorSource::add(TensorRef t) {
  const std::string name = t.name;
  RS_CHECK(tensors_.emplace(name, std::move(t)).second, "{}: duplicate tensor '{}'", describe(),
           name);
}

namespace {

class GgufSource : public TensorSource {
 public:
  explicit GgufSource(const std::string& path) : file_(gguf::File::open(path)) {
    hparams_ = hparams_from_gguf(*file_);
    for (const auto& t : file_->tensors()) add({t.name, t.type, t.ne, t.data, t.nbytes});
  }
  const gguf::File* gguf() const override { return file_.get(); }
  std::string describe() const override { return file_->name(); }
  void release(const TensorRef& t) const override { release_mapped_pages(t.data, t.nbytes); }

 private:
  std::unique_ptr<gguf::File> file_;
};

}  // namespace

std::unique_ptr<TensorSource> open_gguf_source(const std::string& path) {
  return std::make_unique<GgufSource>(path);
}

std::unique_ptr<TensorSource> open_tensor_source(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("model '{}' not found", path);
  if (fs::is_directory(path, ec)) return open_hf_folder(path);
  const fs::path p(path);
  if (p.filename() == "config.json" || p.extension() == ".safetensors")
    return open_hf_folder(p.parent_path().string());
  return open_gguf_source(path);
}

}  // namespace rs
