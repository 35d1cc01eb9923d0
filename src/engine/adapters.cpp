#include "engine/adapters.h"

#include "core/error.h"
#include "formats/lora_adapter.h"

namespace rs {

std::shared_ptr<const LoraAdapter> load_lora(const Model& model, const std::string& path) {
  const lora::Adapter file = lora::load_adapter(path);
  return LoraAdapter::bind(file, model.hparams(), model.source());
}

std::shared_ptr<const LoraAdapter> AdapterRegistry::load(const std::string& name,
                                                         const std::string& path) {
  RS_CHECK(!name.empty(), "an adapter needs a name");
  auto ad = load_lora(model_, path);  // outside the lock: reading may take a while
  std::lock_guard<std::mutex> lock(mu_);
  adapters_[name] = ad;
  return ad;
}

bool AdapterRegistry::unload(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return adapters_.erase(name) > 0;
}

std::shared_ptr<const LoraAdapter> AdapterRegistry::get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = adapters_.find(name);
  return it == adapters_.end() ? nullptr : it->second;
}

std::vector<std::string> AdapterRegistry::names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [n, a] : adapters_) out.push_back(n);
  return out;
}

}  // namespace rs
