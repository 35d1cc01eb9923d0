// The LoRA fine-tuning loop: shuffled epochs of optimizer steps (batch × grad_accum examples
// each, loss averaged over their completion tokens), AdamW with warm-up and cosine decay,
// validation loss (and label accuracy for classification rows) after each epoch, checkpoints it
// can resume from, and the adapter written in PEFT layout and as GGUF LoRA.
//
// Determinism: the same data, settings and seed give the same adapter bytes, whatever the thread
// count (the graph's reductions have a fixed order) and whether the run was interrupted and
// resumed (the epoch order comes from the seed and the epoch number, the checkpoint holds the
// optimizer state).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "formats/lora_adapter.h"
#include "train/data.h"
#include "train/weights.h"

namespace rs {
class ThreadPool;
}

namespace rs::train {

struct FinetuneOptions {
  std::vector<lora::Target> targets;
  int64_t rank = 16;
  double alpha = 32;
  bool use_rslora = false;
  int epochs = 1;
  double lr = 2e-4;
  double min_lr_ratio = 0.1;  // cosine decays to lr·min_lr_ratio
  double warmup = 0.05;       // fraction of all steps spent warming up
  int batch = 8;
  int grad_accum = 1;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  uint64_t seed = 42;
  int64_t checkpoint_every = 0;  // optimizer steps between checkpoints (0: once per epoch)
  int64_t max_steps = 0;         // stop after this many steps (0: all epochs)
  // Pause after this many steps (counted from the start of training) with a checkpoint, as an
  // interruption would; --resume continues to exactly where an uninterrupted run would be.
  // Not part of the run's settings.
  int64_t stop_after = 0;
  std::string out_dir;
  bool resume = false;
  bool progress = true;
  std::string base_model;  // recorded in the adapter
  DataOptions data;        // how the data was read (label scoring re-tokenizes with it)
};

struct EpochReport {
  int epoch = 0;
  double train_loss = 0;  // mean over the epoch's completion tokens
  std::optional<double> val_loss, val_accuracy;
  double tokens_per_s = 0;
  double seconds = 0;
};

struct FinetuneReport {
  std::vector<double> step_loss;  // per optimizer step
  std::vector<EpochReport> epochs;
  int64_t steps = 0, tokens = 0, n_params = 0;
  double seconds = 0;
  bool resumed = false;
  bool paused = false;  // stopped by stop_after; resume to finish
};

// Called after each epoch (for the CLI's epoch lines).
using EpochFn = std::function<void(const EpochReport&)>;

FinetuneReport finetune(const BaseWeights<float>& base, const Tokenizer& tok, const Dataset& train,
                        const Dataset* validation, const FinetuneOptions& opt, ThreadPool* pool,
                        const EpochFn& on_epoch = {});

// Mean loss per completion token over a data set, and the label accuracy when its rows are
// classification rows (each label scored as a completion; the lowest loss wins).
struct EvalResult {
  double loss = 0;
  std::optional<double> accuracy;
};
EvalResult evaluate(const BaseWeights<float>& base, const Tokenizer& tok, const Dataset& data,
                    const LoraSet<float>* lora, const DataOptions& data_opt, ThreadPool* pool);

// Splits off every k-th example (seeded) as validation: fraction in (0, 0.5].
void split_validation(Dataset& train, Dataset& val, double fraction, uint64_t seed);

}  // namespace rs::train
