// Named LoRA adapters for one base model, loaded and unloaded while requests run. A request
// holds a shared_ptr to the adapter it started with, so unloading or replacing an adapter never
// pulls weights out from under a forward pass that is using them.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/lora.h"
#include "model/model.h"

namespace rs {

// Reads a PEFT folder or GGUF LoRA file and binds it to `model` (rs::Error on any mismatch).
std::shared_ptr<const LoraAdapter> load_lora(const Model& model, const std::string& path);

class AdapterRegistry {
 public:
  explicit AdapterRegistry(const Model& model) : model_(model) {}

  // Loads `path` under `name`, replacing an adapter of that name (hot reload). The file is read
  // and checked before the registry changes, so a bad file leaves the old adapter in place.
  std::shared_ptr<const LoraAdapter> load(const std::string& name, const std::string& path);
  // Removes `name`; false when there was none. Requests still holding it finish with it.
  bool unload(const std::string& name);
  // The adapter, or nullptr when no adapter has that name.
  std::shared_ptr<const LoraAdapter> get(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  const Model& model_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const LoraAdapter>> adapters_;
};

}  // namespace rs
