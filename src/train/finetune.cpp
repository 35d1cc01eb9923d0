#include "train/finetune.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "train/checkpoint.h"
#include "train/graph.h"
#include "train/optimizer.h"

namespace rs::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Fisher-Yates with our own index mapping: std::shuffle's algorithm is implementation-defined,
// and the order must not change between standard libraries for --seed to mean anything.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed * 1000003u + static_cast<uint64_t>(epoch));
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs a micro-batch with one example per thread at a time. For models this small, splitting
// each matmul across threads costs more in synchronisation (hundreds of parallel loops per
// sequence) than it saves, so the pool's threads take whole examples instead. Each example
// writes its gradients into its own replica, and the replicas are added to the master set in
// example order: the sum, and so the adapter, does not depend on the thread count.
class BatchRunner {
 public:
  BatchRunner(const BaseWeights<float>& base, const LoraSet<float>& shape, int batch,
              ThreadPool* pool)
      : pool_(pool), replicas_(static_cast<size_t>(batch), shape) {
    const int n_threads = pool ? pool->size() : 1;
    for (int i = 0; i < n_threads; ++i) graphs_.emplace_back(base, nullptr);
  }

  // Adds scale·∂loss/∂θ of every sequence to master's gradients; returns the summed loss.
  double run(LoraSet<float>& master, const std::vector<const Sequence*>& seqs, float scale) {
    const auto n = static_cast<int64_t>(seqs.size());
    std::vector<double> loss(seqs.size(), 0.0);
    auto work = [&](int64_t begin, int64_t end, int thread) {
      for (int64_t i = begin; i < end; ++i) {
        LoraSet<float>& r = replicas_[static_cast<size_t>(i)];
        copy_params(master, r);
        r.zero_grad();
        loss[static_cast<size_t>(i)] =
            graphs_[static_cast<size_t>(thread)].run(*seqs[static_cast<size_t>(i)], &r, scale);
      }
    };
    if (pool_)
      pool_->parallel_for(n, work);
    else
      work(0, n, 0);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      total += loss[static_cast<size_t>(i)];
      add_grads(replicas_[static_cast<size_t>(i)], master);
    }
    return total;
  }

 private:
  static void copy_params(const LoraSet<float>& from, LoraSet<float>& to) {
    for (size_t l = 0; l < from.layers.size(); ++l)
      for (size_t t = 0; t < from.layers[l].size(); ++t) {
        to.layers[l][t].a = from.layers[l][t].a;
        to.layers[l][t].b = from.layers[l][t].b;
      }
  }
  static void add_grads(const LoraSet<float>& from, LoraSet<float>& to) {
    for (size_t l = 0; l < from.layers.size(); ++l)
      for (size_t t = 0; t < from.layers[l].size(); ++t) {
        const auto& f = from.layers[l][t];
        auto& d = to.layers[l][t];
        for (size_t i = 0; i < f.ga.size(); ++i) d.ga[i] += f.ga[i];
        for (size_t i = 0; i < f.gb.size(); ++i) d.gb[i] += f.gb[i];
      }
  }

  ThreadPool* pool_;
  std::vector<LoraSet<float>> replicas_;
  std::vector<Graph<float>> graphs_;
};

}  // namespace

void split_validation(Dataset& train, Dataset& val, double fraction, uint64_t seed) {
  RS_CHECK(fraction > 0 && fraction <= 0.5, "--val-split must be in (0, 0.5], got {}", fraction);
  const auto order = epoch_order(train.examples.size(), seed, -1);
  const auto n_val = static_cast<size_t>(std::ceil(fraction * static_cast<double>(order.size())));
  RS_CHECK(n_val < train.examples.size(),
           "the training data is too small to split off a validation set");
  std::vector<bool> is_val(order.size(), false);
  for (size_t i = 0; i < n_val; ++i) is_val[order[i]] = true;
  Dataset rest;
  val = Dataset{};
  for (size_t i = 0; i < train.examples.size(); ++i) {
    Dataset& d = is_val[i] ? val : rest;
    d.n_tokens += static_cast<int64_t>(train.examples[i].seq.tokens.size());
    d.n_target_tokens += train.examples[i].seq.n_targets();
    d.examples.push_back(std::move(train.examples[i]));
  }
  rest.labels = val.labels = train.labels;
  rest.n_truncated = train.n_truncated;
  train = std::move(rest);
}

EvalResult evaluate(const BaseWeights<float>& base, const Tokenizer& tok, const Dataset& data,
                    const LoraSet<float>* lora, const DataOptions& data_opt, ThreadPool* pool) {
  // One graph per thread, each example on one thread (see the note in finetune()).
  const int n_threads = pool ? pool->size() : 1;
  std::vector<Graph<float>> graphs;
  for (int i = 0; i < n_threads; ++i) graphs.emplace_back(base, nullptr);
  auto* l = const_cast<LoraSet<float>*>(lora);  // run() only writes gradients when grad_scale != 0
  const auto n = static_cast<int64_t>(data.examples.size());
  std::vector<double> loss(static_cast<size_t>(n), 0.0);
  std::vector<int8_t> correct(static_cast<size_t>(n), -1);  // -1: not a labeled row
  auto work = [&](int64_t begin, int64_t end, int thread) {
    Graph<float>& g = graphs[static_cast<size_t>(thread)];
    for (int64_t i = begin; i < end; ++i) {
      const Example& ex = data.examples[static_cast<size_t>(i)];
      loss[static_cast<size_t>(i)] = g.run(ex.seq, l, 0.0f);
      if (ex.label.empty() || data.labels.size() < 2) continue;
      double best = INFINITY;
      std::string pred;
      for (const std::string& label : data.labels) {
        const Sequence s =
            tokenize_example(tok, ex.prompt, " " + label, false, data_opt.add_eos, 1 << 30);
        const double v = g.run(s, l, 0.0f);
        if (v < best) best = v, pred = label;
      }
      correct[static_cast<size_t>(i)] = pred == ex.label;
    }
  };
  if (pool)
    pool->parallel_for(n, work);
  else
    work(0, n, 0);
  double total = 0;
  int64_t n_targets = 0, right = 0, labeled = 0;
  for (int64_t i = 0; i < n; ++i) {
    total += loss[static_cast<size_t>(i)];
    n_targets += data.examples[static_cast<size_t>(i)].seq.n_targets();
    if (correct[static_cast<size_t>(i)] >= 0) right += correct[static_cast<size_t>(i)], ++labeled;
  }
  EvalResult r;
  r.loss = n_targets > 0 ? total / static_cast<double>(n_targets) : 0;
  if (labeled > 0) r.accuracy = static_cast<double>(right) / static_cast<double>(labeled);
  return r;
}

FinetuneReport finetune(const BaseWeights<float>& base, const Tokenizer& tok, const Dataset& train,
                        const Dataset* validation, const FinetuneOptions& opt, ThreadPool* pool,
                        const EpochFn& on_epoch) {
  const HParams& hp = base.hp;
  RS_CHECK(opt.epochs > 0 && opt.batch > 0 && opt.grad_accum > 0,
           "--epochs, --batch and --grad-accum must be positive");
  RS_CHECK(opt.lr > 0, "--lr must be positive");
  RS_CHECK(!opt.out_dir.empty(), "--out is required");
  std::error_code ec;
  fs::create_directories(opt.out_dir, ec);
  RS_CHECK(!ec, "cannot create '{}': {}", opt.out_dir, ec.message());

  LoraSet<float> lora =
      LoraSet<float>::init(hp, opt.targets, opt.rank, opt.alpha, opt.use_rslora, opt.seed);
  AdamWConfig acfg;
  acfg.weight_decay = opt.weight_decay;
  acfg.max_grad_norm = opt.max_grad_norm;
  AdamW adam(acfg, lora.n_params());

  const auto n_train = static_cast<int64_t>(train.examples.size());
  const int64_t per_step = static_cast<int64_t>(opt.batch) * opt.grad_accum;
  const int64_t steps_per_epoch = (n_train + per_step - 1) / per_step;
  int64_t total_steps = steps_per_epoch * opt.epochs;
  if (opt.max_steps > 0) total_steps = std::min(total_steps, opt.max_steps);
  const auto warmup =
      static_cast<int64_t>(std::round(opt.warmup * static_cast<double>(total_steps)));

  std::vector<std::string> target_names;
  for (auto t : opt.targets) target_names.emplace_back(lora::hf_module(t));
  const nlohmann::json config = {
      {"rank", opt.rank},
      {"alpha", opt.alpha},
      {"use_rslora", opt.use_rslora},
      {"targets", target_names},
      {"epochs", opt.epochs},
      {"lr", opt.lr},
      {"batch", opt.batch},
      {"grad_accum", opt.grad_accum},
      {"seed", opt.seed},
      {"n_train", n_train},
      {"train_tokens", train.n_tokens},
      {"max_steps", opt.max_steps},
      {"warmup", opt.warmup},
      {"min_lr_ratio", opt.min_lr_ratio},
      {"weight_decay", opt.weight_decay},
  };
  const std::string ckpt = (fs::path(opt.out_dir) / "checkpoint.safetensors").string();
  FinetuneReport rep;
  rep.n_params = lora.n_params();
  CheckpointState state;
  state.config = config;
  state.history = {{"step_loss", nlohmann::json::array()}, {"epochs", nlohmann::json::array()}};
  if (opt.resume) {
    RS_CHECK(fs::exists(ckpt), "--resume: no checkpoint at '{}'", ckpt);
    state = load_checkpoint(ckpt, lora, adam, config);
    rep.resumed = true;
    for (const auto& v : state.history["step_loss"]) rep.step_loss.push_back(v.get<double>());
  }

  std::ofstream log((fs::path(opt.out_dir) / "train_log.jsonl").string(),
                    opt.resume ? std::ios::app : std::ios::trunc);
  const bool model_interleaved = hp.rope_style == kernels::RopeStyle::Interleaved;
  auto save_adapter = [&] {
    lora::Adapter ad = lora.to_adapter(hp, model_interleaved, /*want_interleaved=*/false);
    ad.format = lora::Format::Peft;
    ad.alpha = opt.alpha;
    ad.rank = opt.rank;
    ad.use_rslora = opt.use_rslora;
    ad.base_model = opt.base_model;
    lora::save_peft(ad, opt.out_dir);
    lora::Adapter g = lora.to_adapter(
        hp, model_interleaved, find_arch(hp.arch->name)->rope == kernels::RopeStyle::Interleaved);
    g.format = lora::Format::Gguf;
    g.architecture = hp.arch->name;
    g.base_model = opt.base_model;
    lora::save_gguf_lora(g, (fs::path(opt.out_dir) / "adapter.gguf").string());
  };

  BatchRunner batch(base, lora, opt.batch, pool);
  const int64_t total_tokens = train.n_tokens * opt.epochs;
  ProgressBar bar("finetune", static_cast<uint64_t>(std::max<int64_t>(1, total_tokens)), "tok",
                  opt.progress);
  int64_t step = state.step;
  int64_t done_tokens = 0;
  const auto t_start = Clock::now();
  for (int epoch = static_cast<int>(step / steps_per_epoch);
       epoch < opt.epochs && step < total_steps; ++epoch) {
    const auto order = epoch_order(static_cast<size_t>(n_train), opt.seed, epoch);
    const auto t_epoch = Clock::now();
    double epoch_loss = 0;
    int64_t epoch_targets = 0, epoch_tokens = 0;
    for (int64_t s = step - epoch * steps_per_epoch; s < steps_per_epoch && step < total_steps;
         ++s) {
      const int64_t begin = s * per_step, end = std::min(n_train, begin + per_step);
      int64_t n_targets = 0;
      for (int64_t i = begin; i < end; ++i)
        n_targets += train.examples[order[static_cast<size_t>(i)]].seq.n_targets();
      lora.zero_grad();
      double loss = 0;
      // Micro-batches of `batch` examples accumulate into the same gradients; the scale makes
      // the step's gradient that of the mean loss over all its completion tokens.
      const float scale = 1.0f / static_cast<float>(std::max<int64_t>(1, n_targets));
      for (int64_t mb = begin; mb < end; mb += opt.batch) {
        const int64_t mb_end = std::min(end, mb + opt.batch);
        std::vector<const Sequence*> seqs;
        for (int64_t i = mb; i < mb_end; ++i)
          seqs.push_back(&train.examples[order[static_cast<size_t>(i)]].seq);
        loss += batch.run(lora, seqs, scale);
        for (const Sequence* seq : seqs) {
          done_tokens += static_cast<int64_t>(seq->tokens.size());
          epoch_tokens += static_cast<int64_t>(seq->tokens.size());
        }
      }
      const double lr = scheduled_lr(step, total_steps, warmup, opt.lr, opt.min_lr_ratio);
      const double gnorm = adam.step(lora, lr);
      ++step;
      const double mean = loss / static_cast<double>(std::max<int64_t>(1, n_targets));
      rep.step_loss.push_back(mean);
      state.history["step_loss"].push_back(mean);
      epoch_loss += loss;
      epoch_targets += n_targets;
      log << nlohmann::json{{"step", step},
                            {"epoch", epoch + 1},
                            {"loss", mean},
                            {"lr", lr},
                            {"grad_norm", gnorm}}
                 .dump()
          << "\n";
      bar.update(static_cast<uint64_t>(epoch * train.n_tokens +
                                       (end >= n_train ? train.n_tokens : epoch_tokens)),
                 fmt::format("ep {}/{} loss {:.4f}", epoch + 1, opt.epochs, mean));
      if ((opt.checkpoint_every > 0 && step % opt.checkpoint_every == 0) ||
          step == opt.stop_after) {
        state.step = step;
        save_checkpoint(ckpt, lora, adam, state);
      }
      if (step == opt.stop_after) break;
    }
    const bool epoch_done =
        step - epoch * steps_per_epoch == steps_per_epoch || step == total_steps;
    if (!epoch_done) {  // paused mid-epoch: the checkpoint above has everything
      rep.paused = true;
      break;
    }
    EpochReport er;
    er.epoch = epoch + 1;
    er.train_loss = epoch_targets > 0 ? epoch_loss / static_cast<double>(epoch_targets) : 0;
    er.seconds = seconds_since(t_epoch);
    er.tokens_per_s = er.seconds > 0 ? static_cast<double>(epoch_tokens) / er.seconds : 0;
    if (validation) {
      const EvalResult ev = evaluate(base, tok, *validation, &lora, opt.data, pool);
      er.val_loss = ev.loss;
      er.val_accuracy = ev.accuracy;
    }
    nlohmann::json ej = {{"epoch", er.epoch},
                         {"train_loss", er.train_loss},
                         {"tokens_per_s", er.tokens_per_s},
                         {"seconds", er.seconds}};
    if (er.val_loss) ej["val_loss"] = *er.val_loss;
    if (er.val_accuracy) ej["val_accuracy"] = *er.val_accuracy;
    state.history["epochs"].push_back(ej);
    log << ej.dump() << "\n";
    log.flush();
    state.step = step;
    save_checkpoint(ckpt, lora, adam, state);
    save_adapter();
    rep.epochs.push_back(er);
    if (on_epoch) on_epoch(er);
    if (step == opt.stop_after && step < total_steps) {
      rep.paused = true;
      break;
    }
  }
  bar.finish();
  if (rep.epochs.empty() && !rep.paused) save_adapter();  // resumed a finished run: write it again
  rep.steps = step;
  rep.tokens = done_tokens;
  rep.seconds = seconds_since(t_start);
  return rep;
}

}  // namespace rs::train
