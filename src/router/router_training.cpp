#include "router/router_training.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/loader.h"
#include "train/calibration.h"
#include "train/linear_svm.h"

namespace rs::router {

namespace {

using train::LabeledText;

// Rows of one training run: texts and class indices.
struct Split {
  std::vector<std::string_view> text;
  std::vector<int> y;
};

// Turns texts into the feature matrix of one back end. The TF-IDF vectorizer is fitted on the
// texts it is built from; the embedder needs no fitting.
class Features {
 public:
  Features(const RouterTrainOptions& opt, std::shared_ptr<const LoadedModel> embedder)
      : opt_(opt), embedder_(std::move(embedder)) {}

  void fit(const std::vector<std::string_view>& texts) {
    if (!embedder_) tfidf_ = train::TfidfVectorizer::fit(texts, opt_.features);
  }
  uint32_t dim() const {
    return embedder_ ? static_cast<uint32_t>(embedder_->model->hparams().n_embd)
                     : tfidf_.n_features();
  }
  train::SparseMatrix matrix(const std::vector<std::string_view>& texts) {
    train::SparseMatrix m(dim());
    train::FeatureScratch s;
    train::SparseRow row;
    std::vector<int32_t> tokens;
    for (const auto t : texts) {
      if (embedder_) {
        m.add_dense_row(embedding(t, tokens));
      } else {
        tfidf_.transform(t, s, row);
        m.add_row(train::view(row));
      }
    }
    return m;
  }
  const train::TfidfVectorizer& tfidf() const { return tfidf_; }

 private:
  // Embeddings are computed once per distinct text (refitting re-reads the same rows).
  const std::vector<float>& embedding(std::string_view t, std::vector<int32_t>& tokens) {
    auto it = cache_.find(std::string(t));
    if (it != cache_.end()) return it->second;
    if (!pool_) pool_ = std::make_unique<ThreadPool>(opt_.threads);
    tokens = embedder_->require_tokenizer().encode(t, true, false);
    RS_CHECK(!tokens.empty(), "the text '{}' gives no tokens", t);
    return cache_.emplace(std::string(t), embedder_->model->embed(tokens, pool_.get()))
        .first->second;
  }

  const RouterTrainOptions& opt_;
  std::shared_ptr<const LoadedModel> embedder_;
  train::TfidfVectorizer tfidf_;
  std::unique_ptr<ThreadPool> pool_;
  std::map<std::string, std::vector<float>> cache_;
};

// Serialises progress callbacks from the training threads.
class Progress {
 public:
  Progress(const RouterTrainOptions& opt, int64_t total) : fn_(opt.progress), total_(total) {}
  void step() {
    std::lock_guard lock(mu_);
    ++done_;
    if (fn_) fn_(done_, total_);
  }

 private:
  std::function<void(int64_t, int64_t)> fn_;
  int64_t total_, done_ = 0;
  std::mutex mu_;
};

struct HeldOut {
  std::vector<float> logits;  // [rows][k]
  std::vector<int> pred;
  double accuracy = 0;
};

HeldOut score(const train::SoftmaxHead& h, const train::SparseMatrix& x,
              const std::vector<int>& y) {
  HeldOut r;
  const uint32_t k = h.n_classes;
  r.logits.resize(static_cast<size_t>(x.rows()) * k);
  int64_t right = 0;
  for (int64_t i = 0; i < x.rows(); ++i) {
    float* z = r.logits.data() + static_cast<size_t>(i) * k;
    h.logits(x.row(i), z);
    r.pred.push_back(static_cast<int>(std::max_element(z, z + k) - z));
    right += r.pred.back() == y[static_cast<size_t>(i)];
  }
  r.accuracy = static_cast<double>(right) / static_cast<double>(std::max<int64_t>(1, x.rows()));
  return r;
}

// a * h1 + b * h2 (same shape): logits add, so calibrated logits of two heads average into one
// linear head (a geometric mean of their probabilities) that costs no more than either.
train::SoftmaxHead combine(const train::SoftmaxHead& h1, double a, const train::SoftmaxHead& h2,
                           double b) {
  train::SoftmaxHead h = h1;
  for (size_t j = 0; j < h.weights.size(); ++j)
    h.weights[j] = static_cast<float>(a * h1.weights[j] + b * h2.weights[j]);
  for (size_t j = 0; j < h.bias.size(); ++j)
    h.bias[j] = static_cast<float>(a * h1.bias[j] + b * h2.bias[j]);
  return h;
}

// Seeded stratified hold-out: about `share` of each label's rows (none of a single-row label).
void carve(const std::vector<LabeledText>& rows, const std::vector<int>& y, double share,
           uint64_t seed, Split& fit, Split& held) {
  std::map<int, std::vector<size_t>> by_class;
  for (size_t i = 0; i < rows.size(); ++i) by_class[y[i]].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<bool> is_held(rows.size(), false);
  for (auto& [c, idx] : by_class) {
    std::shuffle(idx.begin(), idx.end(), rng);
    const auto n = idx.size() < 2
                       ? size_t{0}
                       : std::max<size_t>(1, static_cast<size_t>(share * idx.size() + 0.5));
    for (size_t j = 0; j < n; ++j) is_held[idx[j]] = true;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    Split& s = is_held[i] ? held : fit;
    s.text.push_back(rows[i].text);
    s.y.push_back(y[i]);
  }
}

// The language-model back end: nothing to fit but the temperature and threshold on the
// validation rows.
IntentClassifier train_lm_router(const std::vector<LabeledText>& train,
                                 const std::vector<LabeledText>& validation,
                                 const RouterTrainOptions& opt, RouterTrainReport* report,
                                 std::chrono::steady_clock::time_point t0) {
  ClassifierParts parts;
  parts.backend = Backend::kLanguageModel;
  parts.labels = opt.labels;
  if (parts.labels.empty()) {
    for (const auto& r : train) {
      RS_CHECK(!r.label.empty(), "training row at line {} has no label", r.line);
      parts.labels.push_back(r.label);
    }
    std::sort(parts.labels.begin(), parts.labels.end());
    parts.labels.erase(std::unique(parts.labels.begin(), parts.labels.end()), parts.labels.end());
  }
  RS_CHECK(parts.labels.size() >= 2,
           "the language-model back end needs at least 2 labels (got {}): give --labels or "
           "--train rows",
           parts.labels.size());
  const auto k = static_cast<uint32_t>(parts.labels.size());
  std::map<std::string_view, int> index;
  for (size_t i = 0; i < k; ++i) index[parts.labels[i]] = static_cast<int>(i);
  const auto oos = index.find(kOutOfScope);
  parts.oos_class = oos == index.end() ? -1 : oos->second;
  parts.lm = opt.lm;
  parts.lm.model = std::filesystem::absolute(opt.lm.model).string();
  if (!opt.lm.lora.empty()) parts.lm.lora = std::filesystem::absolute(opt.lm.lora).string();
  parts.head.n_classes = k;
  validate(parts);  // the template and labels, before loading the model
  std::vector<int> y;
  for (const auto& r : validation) {
    const auto it = index.find(r.label);
    RS_CHECK(it != index.end(), "validation row at line {} has label '{}', which is not a label",
             r.line, r.label);
    y.push_back(it->second);
  }
  IntentClassifier clf(parts);
  RouterTrainReport rep;
  rep.n_heldout = static_cast<int64_t>(validation.size());
  rep.n_classes = k;
  rep.has_oos = parts.oos_class >= 0;
  if (!validation.empty()) {
    const auto n = static_cast<int64_t>(validation.size());
    std::vector<float> logits(static_cast<size_t>(n) * k);
    Progress progress(opt, n);
    ThreadPool pool(std::max(1, opt.threads));
    std::vector<IntentClassifier::Scratch> scratch(static_cast<size_t>(pool.size()));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(pool.size()));
    pool.parallel_for(n, [&](int64_t begin, int64_t end, int thread) {
      try {
        for (int64_t i = begin; i < end; ++i) {
          clf.logits(validation[static_cast<size_t>(i)].text, scratch[static_cast<size_t>(thread)],
                     logits.data() + i * k);
          progress.step();
        }
      } catch (...) {
        errors[static_cast<size_t>(thread)] = std::current_exception();
      }
    });
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    std::vector<int> pred;
    int64_t right = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* z = logits.data() + i * k;
      pred.push_back(static_cast<int>(std::max_element(z, z + k) - z));
      right += pred.back() == y[static_cast<size_t>(i)];
    }
    parts.temperature = static_cast<float>(train::fit_temperature(logits, y, k));
    std::vector<float> conf;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<float> p(logits.begin() + i * k, logits.begin() + (i + 1) * k);
      train::softmax_inplace(p.data(), k, 1.0f / parts.temperature);
      conf.push_back(p[static_cast<size_t>(pred[static_cast<size_t>(i)])]);
    }
    parts.threshold = choose_oos_threshold(pred, conf, y, parts.oos_class, opt.oos_recall);
    rep.heldout_accuracy = static_cast<double>(right) / static_cast<double>(n);
    rep.heldout_nll_before = train::mean_nll(logits, y, k, 1.0);
    rep.heldout_nll_after = train::mean_nll(logits, y, k, parts.temperature);
    rep.heldout_scope = scope_metrics(pred, conf, y, parts.oos_class, parts.threshold);
  }
  rep.temperature = parts.temperature;
  rep.threshold = parts.threshold;
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (report) *report = rep;
  return IntentClassifier(std::move(parts), clf.model());
}

}  // namespace

IntentClassifier train_router(const std::vector<LabeledText>& train,
                              const std::vector<LabeledText>& validation,
                              const RouterTrainOptions& opt, RouterTrainReport* report) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!opt.lm.model.empty()) return train_lm_router(train, validation, opt, report, t0);
  RS_CHECK(!opt.l2_grid.empty() && opt.epochs >= 1, "router training: empty L2 grid or no epochs");
  RS_CHECK(validation.empty() ? opt.holdout > 0 && opt.holdout < 1 : true,
           "router training: hold-out share {} not in (0, 1)", opt.holdout);
  ClassifierParts parts;
  for (const auto& r : train) {
    RS_CHECK(!r.label.empty(), "training row at line {} has no label", r.line);
    parts.labels.push_back(r.label);
  }
  std::sort(parts.labels.begin(), parts.labels.end());
  parts.labels.erase(std::unique(parts.labels.begin(), parts.labels.end()), parts.labels.end());
  RS_CHECK(parts.labels.size() >= 2, "the training data has {} label(s); a router needs at least 2",
           parts.labels.size());
  std::map<std::string_view, int> index;
  for (size_t i = 0; i < parts.labels.size(); ++i) index[parts.labels[i]] = static_cast<int>(i);
  const auto k = static_cast<uint32_t>(parts.labels.size());
  const auto oos = index.find(kOutOfScope);
  parts.oos_class = oos == index.end() ? -1 : oos->second;

  auto classes = [&](const std::vector<LabeledText>& rows, const char* what) {
    std::vector<int> y;
    for (const auto& r : rows) {
      const auto it = index.find(r.label);
      RS_CHECK(it != index.end(), "{} row at line {} has label '{}', which the training data lacks",
               what, r.line, r.label);
      y.push_back(it->second);
    }
    return y;
  };
  const std::vector<int> y_train = classes(train, "training");
  Split fit, held;
  if (validation.empty()) {
    carve(train, y_train, opt.holdout, opt.seed, fit, held);
  } else {
    const std::vector<int> y_val = classes(validation, "validation");
    for (size_t i = 0; i < train.size(); ++i) fit.text.push_back(train[i].text);
    fit.y = y_train;
    for (size_t i = 0; i < validation.size(); ++i) held.text.push_back(validation[i].text);
    held.y = y_val;
  }
  RS_CHECK(!held.y.empty(), "no held-out rows for calibration: give --validation or more rows");

  std::shared_ptr<const LoadedModel> embedder;
  if (!opt.embedder.empty()) {
    embedder = std::make_shared<const LoadedModel>(load_model(opt.embedder));
    RS_CHECK(!embedder->model->hparams().generative(),
             "'{}' is a generative model; --embedder needs an encoder such as bert", opt.embedder);
    parts.backend = Backend::kEmbedding;
    parts.embedder_path = std::filesystem::absolute(opt.embedder).string();
  }

  const auto n_grid = static_cast<int64_t>(opt.l2_grid.size());
  const int64_t n_fits = opt.refit ? 2 : 1;
  Progress progress(opt, opt.epochs * (n_grid + n_fits - 1) + (opt.svm ? k * n_fits : 0));
  Features features(opt, embedder);
  features.fit(fit.text);
  const train::SparseMatrix x_fit = features.matrix(fit.text);
  const train::SparseMatrix x_held = features.matrix(held.text);

  // The L2 grid, spread over the threads; each head is independent.
  std::vector<train::SoftmaxHead> heads(opt.l2_grid.size());
  auto fit_one = [&](size_t g) {
    train::SoftmaxTrainOptions so{opt.l2_grid[g], opt.epochs, opt.learning_rate, opt.seed};
    heads[g] = train::train_softmax(x_fit, fit.y, k, so, [&](int) { progress.step(); });
  };
  {
    const size_t n_threads = static_cast<size_t>(std::max(1, opt.threads));
    std::vector<std::thread> workers;
    std::vector<std::exception_ptr> errors(n_threads);
    for (size_t t = 0; t < n_threads; ++t)
      workers.emplace_back([&, t] {
        try {
          for (size_t g = t; g < heads.size(); g += n_threads) fit_one(g);
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    for (auto& w : workers) w.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  RouterTrainReport rep;
  size_t best = 0;
  HeldOut best_scores;
  for (size_t g = 0; g < heads.size(); ++g) {
    HeldOut s = score(heads[g], x_held, held.y);
    rep.grid.emplace_back(opt.l2_grid[g], s.accuracy);
    if (g == 0 || s.accuracy > best_scores.accuracy) best = g, best_scores = std::move(s);
  }
  rep.softmax_accuracy = best_scores.accuracy;

  // The SVM head, and the ensemble of both (each divided by its own held-out temperature, then
  // averaged). The best held-out accuracy of the three is kept (ties: ensemble, then softmax).
  train::SvmTrainOptions svm_opt;
  svm_opt.c = opt.svm_c;
  svm_opt.seed = opt.seed;
  svm_opt.threads = opt.threads;
  double t_softmax = 1, t_svm = 1;
  train::SoftmaxHead head = heads[best];
  if (opt.svm) {
    const train::SoftmaxHead svm =
        train::train_linear_svm(x_fit, fit.y, k, svm_opt, [&](uint32_t) { progress.step(); });
    HeldOut svm_scores = score(svm, x_held, held.y);
    t_softmax = train::fit_temperature(best_scores.logits, held.y, k);
    t_svm = train::fit_temperature(svm_scores.logits, held.y, k);
    const train::SoftmaxHead ens = combine(head, 0.5 / t_softmax, svm, 0.5 / t_svm);
    HeldOut ens_scores = score(ens, x_held, held.y);
    rep.svm_accuracy = svm_scores.accuracy;
    rep.ensemble_accuracy = ens_scores.accuracy;
    if (ens_scores.accuracy >= std::max(best_scores.accuracy, svm_scores.accuracy)) {
      rep.head = HeadKind::kEnsemble;
      head = ens;
      best_scores = std::move(ens_scores);
    } else if (svm_scores.accuracy > best_scores.accuracy) {
      rep.head = HeadKind::kSvm;
      head = svm;
      best_scores = std::move(svm_scores);
    }
  }

  // Calibration and the out-of-scope threshold on the held-out rows.
  parts.temperature = static_cast<float>(train::fit_temperature(best_scores.logits, held.y, k));
  std::vector<float> conf;
  for (size_t i = 0; i < held.y.size(); ++i) {
    float* z = best_scores.logits.data() + i * k;
    std::vector<float> p(z, z + k);
    train::softmax_inplace(p.data(), k, 1.0f / parts.temperature);
    conf.push_back(p[static_cast<size_t>(best_scores.pred[i])]);
  }
  parts.threshold =
      choose_oos_threshold(best_scores.pred, conf, held.y, parts.oos_class, opt.oos_recall);

  rep.n_train = static_cast<int64_t>(fit.y.size());
  rep.n_heldout = static_cast<int64_t>(held.y.size());
  rep.carved = validation.empty();
  rep.n_classes = k;
  rep.has_oos = parts.oos_class >= 0;
  rep.l2 = opt.l2_grid[best];
  rep.temperature = parts.temperature;
  rep.threshold = parts.threshold;
  rep.heldout_accuracy = best_scores.accuracy;
  rep.heldout_nll_before = train::mean_nll(best_scores.logits, held.y, k, 1.0);
  rep.heldout_nll_after = train::mean_nll(best_scores.logits, held.y, k, parts.temperature);
  rep.heldout_scope =
      scope_metrics(best_scores.pred, conf, held.y, parts.oos_class, parts.threshold);

  if (opt.refit) {
    Split all = fit;
    all.text.insert(all.text.end(), held.text.begin(), held.text.end());
    all.y.insert(all.y.end(), held.y.begin(), held.y.end());
    features.fit(all.text);
    const train::SparseMatrix x_all = features.matrix(all.text);
    train::SoftmaxTrainOptions so{rep.l2, opt.epochs, opt.learning_rate, opt.seed};
    train::SoftmaxHead softmax, svm;
    if (rep.head != HeadKind::kSvm)
      softmax = train::train_softmax(x_all, all.y, k, so, [&](int) { progress.step(); });
    if (rep.head != HeadKind::kSoftmax)
      svm = train::train_linear_svm(x_all, all.y, k, svm_opt, [&](uint32_t) { progress.step(); });
    switch (rep.head) {
      case HeadKind::kSoftmax:
        parts.head = std::move(softmax);
        break;
      case HeadKind::kSvm:
        parts.head = std::move(svm);
        break;
      case HeadKind::kEnsemble:
        parts.head = combine(softmax, 0.5 / t_softmax, svm, 0.5 / t_svm);
    }
  } else {
    parts.head = std::move(head);
  }
  if (parts.backend == Backend::kTfidf) parts.tfidf = features.tfidf();
  rep.n_features = parts.head.n_features;
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (report) *report = rep;
  return IntentClassifier(std::move(parts), embedder);
}

}  // namespace rs::router
