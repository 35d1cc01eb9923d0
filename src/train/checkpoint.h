// Training checkpoints: the LoRA parameters, the AdamW moments and the loop position, in one
// safetensors file (tensors "param.<i>" in LoraSet::for_each order, "adam.m", "adam.v"; the
// state as JSON under the metadata key "rightsize.checkpoint"), written atomically so a crash
// mid-write leaves the previous checkpoint intact.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "train/optimizer.h"
#include "train/weights.h"

namespace rs::train {

struct CheckpointState {
  int64_t step = 0;        // optimizer steps done
  nlohmann::json config;   // the run's settings; resuming requires the same
  nlohmann::json history;  // losses so far (for the log and the report)
};

void save_checkpoint(const std::string& path, LoraSet<float>& params, AdamW& opt,
                     const CheckpointState& state);

// Restores params (already shaped by LoraSet::init with the same settings) and the optimizer.
// rs::Error when the file is not a checkpoint, its config differs from `expected_config`
// (naming the first differing setting), or a tensor's size does not match.
CheckpointState load_checkpoint(const std::string& path, LoraSet<float>& params, AdamW& opt,
                                const nlohmann::json& expected_config);

}  // namespace rs::train
