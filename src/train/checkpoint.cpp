#include "train/checkpoint.h"

#include <cstring>

#include "core/error.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"

namespace rs::train {

void save_checkpoint(const std::string& path, LoraSet<float>& params, AdamW& opt,
                     const CheckpointState& state) {
  std::vector<safetensors::F32Tensor> tensors;
  int i = 0;
  params.for_each([&](float* p, float*, int64_t n) {
    tensors.push_back({fmt::format("param.{:04d}", i++), {n}, std::vector<float>(p, p + n)});
  });
  tensors.push_back({"adam.m", {static_cast<int64_t>(opt.m().size())}, opt.m()});
  tensors.push_back({"adam.v", {static_cast<int64_t>(opt.v().size())}, opt.v()});
  nlohmann::json meta = {{"step", state.step},
                         {"adam_t", opt.t()},
                         {"config", state.config},
                         {"history", state.history}};
  safetensors::write_f32(path, tensors, {{"rightsize.checkpoint", meta.dump()}});
}

CheckpointState load_checkpoint(const std::string& path, LoraSet<float>& params, AdamW& opt,
                                const nlohmann::json& expected) {
  auto file = safetensors::File::open(path);
  const auto it = file->metadata().find("rightsize.checkpoint");
  RS_CHECK(it != file->metadata().end(), "'{}' is not a rightsize training checkpoint", path);
  const auto meta = nlohmann::json::parse(it->second, nullptr, false);
  RS_CHECK(!meta.is_discarded() && meta.contains("config") && meta.contains("step"),
           "'{}': damaged checkpoint state", path);
  for (const auto& [key, value] : expected.items())
    RS_CHECK(meta["config"].contains(key) && meta["config"][key] == value,
             "cannot resume from '{}': it was made with {} = {}, this run has {}; use the same "
             "settings or start "
             "without --resume",
             path, key, meta["config"].value(key, nlohmann::json()).dump(), value.dump());
  auto read = [&](const std::string& name, float* dst, int64_t n) {
    const safetensors::Tensor* t = file->tensor(name);
    RS_CHECK(t && t->dtype == safetensors::DType::F32 && t->n_elements() == n,
             "'{}': tensor '{}' is missing or has the wrong size", path, name);
    std::memcpy(dst, t->data, static_cast<size_t>(n) * 4);
  };
  int i = 0;
  params.for_each(
      [&](float* p, float*, int64_t n) { read(fmt::format("param.{:04d}", i++), p, n); });
  read("adam.m", opt.m().data(), static_cast<int64_t>(opt.m().size()));
  read("adam.v", opt.v().data(), static_cast<int64_t>(opt.v().size()));
  opt.set_t(meta.value("adam_t", int64_t{0}));
  CheckpointState st;
  st.step = meta["step"].get<int64_t>();
  st.config = meta["config"];
  st.history = meta.value("history", nlohmann::json::object());
  return st;
}

}  // namespace rs::train
