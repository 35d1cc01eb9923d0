#include "router/intent_classifier.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "engine/loader.h"
#include "router/router_file.h"
#include "train/calibration.h"
#include "train/data.h"

namespace rs::router {

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::kTfidf:
      return "tfidf";
    case Backend::kEmbedding:
      return "embedding";
    case Backend::kLanguageModel:
      return "lm";
  }
  return "?";
}

void validate(const ClassifierParts& p) {
  const auto k = p.labels.size();
  RS_CHECK(k >= 2, "classifier: {} classes (need at least 2)", k);
  std::set<std::string_view> seen;
  for (const auto& l : p.labels) {
    RS_CHECK(!l.empty(), "classifier: empty label");
    RS_CHECK(seen.insert(l).second, "classifier: label '{}' appears twice", l);
  }
  const auto it = std::find(p.labels.begin(), p.labels.end(), kOutOfScope);
  const int32_t oos = it == p.labels.end() ? -1 : static_cast<int32_t>(it - p.labels.begin());
  RS_CHECK(p.oos_class == oos, "classifier: out-of-scope class index {} but '{}' is at {}",
           p.oos_class, kOutOfScope, oos);
  RS_CHECK(std::isfinite(p.temperature) && p.temperature > 0, "classifier: temperature {} not > 0",
           p.temperature);
  RS_CHECK(std::isfinite(p.threshold) && p.threshold >= 0 && p.threshold <= 1,
           "classifier: threshold {} not in [0, 1]", p.threshold);
  const auto& h = p.head;
  if (p.backend == Backend::kLanguageModel) {
    RS_CHECK(!p.lm.model.empty(), "classifier: language-model back end without a model path");
    RS_CHECK(p.lm.prompt_template.find("{text}") != std::string::npos,
             "classifier: the prompt template '{}' has no {{text}} placeholder",
             p.lm.prompt_template);
    RS_CHECK(h.n_classes == k && h.n_features == 0 && h.weights.empty() && h.bias.empty(),
             "classifier: the language-model back end has no head weights (got {}x{})",
             h.n_features, h.n_classes);
    return;
  }
  RS_CHECK(h.n_classes == k && h.bias.size() == k &&
               h.weights.size() == static_cast<size_t>(h.n_features) * k,
           "classifier: head shape {}x{} does not fit {} labels", h.n_features, h.n_classes, k);
  if (p.backend == Backend::kTfidf)
    RS_CHECK(p.tfidf.n_features() == h.n_features, "classifier: {} TF-IDF features, head has {}",
             p.tfidf.n_features(), h.n_features);
  else
    RS_CHECK(!p.embedder_path.empty(), "classifier: embedding back end without a model path");
}

std::vector<float> embed_text(const LoadedModel& model, std::string_view text,
                              std::vector<int32_t>& tokens) {
  tokens = model.require_tokenizer().encode(std::string(text), true, false);
  RS_CHECK(!tokens.empty(), "the text gives no tokens");
  return model.model->embed(tokens, nullptr);
}

void lm_logits(const LoadedModel& model, const LmScoring& lm,
               const std::vector<std::string>& labels, std::string_view text,
               train::LabelScoreScratch& s, train::LabelScores& scores, float* out) {
  const Tokenizer& tok = model.require_tokenizer();
  const int64_t n_ctx = model.model->hparams().n_ctx_train;
  std::string t(text), prompt = train::fill_template(lm.prompt_template, t);
  // Cut the end of the text while the prompt and the longest label (measured alone, plus one
  // token for the seam) would not fit the context.
  int64_t longest = -1;
  for (;;) {
    const auto n = static_cast<int64_t>(tok.encode(prompt, true, false).size());
    if (longest < 0 && n + 64 >= n_ctx)
      for (const auto& l : labels)
        longest = std::max(longest, static_cast<int64_t>(tok.encode(" " + l, false, false).size()));
    if (n + std::max<int64_t>(longest, 0) + 1 <= n_ctx || t.empty()) break;
    size_t cut = t.size() - std::min(t.size(), static_cast<size_t>(n + longest + 1 - n_ctx));
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
    t.resize(cut);
    prompt = train::fill_template(lm.prompt_template, t);
  }
  train::score_labels(*model.model, tok, model.lora.get(), prompt, labels, nullptr, s, scores);
  for (size_t i = 0; i < labels.size(); ++i)
    out[i] = static_cast<float>(lm.length_norm ? scores.log_prob[i] / scores.n_tokens[i]
                                               : scores.log_prob[i]);
}

IntentClassifier::IntentClassifier(ClassifierParts parts,
                                   std::shared_ptr<const LoadedModel> embedder)
    : parts_(std::move(parts)), embedder_(std::move(embedder)) {
  validate(parts_);
  if (parts_.backend == Backend::kLanguageModel) {
    const LmScoring& lm = parts_.lm;
    if (!embedder_) {
      std::error_code ec;
      RS_CHECK(std::filesystem::exists(lm.model, ec), "the router's language model '{}' not found",
               lm.model);
      RS_CHECK(lm.lora.empty() || std::filesystem::exists(lm.lora, ec),
               "the router's LoRA adapter '{}' not found", lm.lora);
      embedder_ = std::make_shared<const LoadedModel>(load_model(lm.model, "", lm.lora));
    }
    RS_CHECK(embedder_->model->hparams().generative(),
             "router language model '{}' is an encoder; the language-model back end needs a "
             "generative model (llama, qwen2, ...)",
             lm.model);
    embedder_->require_tokenizer();
    return;
  }
  if (parts_.backend != Backend::kEmbedding) return;
  if (!embedder_) embedder_ = std::make_shared<const LoadedModel>(load_model(parts_.embedder_path));
  RS_CHECK(!embedder_->model->hparams().generative(),
           "router embedder '{}' is a generative model; it needs an encoder such as bert",
           parts_.embedder_path);
  const auto width = static_cast<uint32_t>(embedder_->model->hparams().n_embd);
  RS_CHECK(width == parts_.head.n_features,
           "router embedder '{}' gives {}-dim embeddings but the head expects {}",
           parts_.embedder_path, width, parts_.head.n_features);
}

IntentClassifier::~IntentClassifier() = default;
IntentClassifier::IntentClassifier(IntentClassifier&&) noexcept = default;
IntentClassifier& IntentClassifier::operator=(IntentClassifier&&) noexcept = default;

IntentClassifier IntentClassifier::load(const std::string& path) {
  return IntentClassifier(read_router_file(path));
}

void IntentClassifier::save(const std::string& path) const {
  write_router_file(parts_, path);
}

void IntentClassifier::logits(std::string_view text, Scratch& s, float* out) const {
  if (parts_.backend == Backend::kTfidf) {
    parts_.tfidf.transform(text, s.features, s.row);
    parts_.head.logits(train::view(s.row), out);
  } else if (parts_.backend == Backend::kLanguageModel) {
    lm_logits(*embedder_, parts_.lm, parts_.labels, text, s.lm, s.lm_scores, out);
  } else {
    s.embedding = embed_text(*embedder_, text, s.tokens);
    parts_.head.logits_dense(s.embedding, out);
  }
}

void IntentClassifier::probabilities(std::string_view text, Scratch& s) const {
  s.probs.resize(n_classes());
  logits(text, s, s.probs.data());
  train::softmax_inplace(s.probs.data(), n_classes(), 1.0f / parts_.temperature);
}

Intent IntentClassifier::classify(std::string_view text, Scratch& s) const {
  probabilities(text, s);
  const auto best = std::max_element(s.probs.begin(), s.probs.end()) - s.probs.begin();
  Intent r;
  r.class_index = static_cast<int>(best);
  r.confidence = s.probs[static_cast<size_t>(best)];
  r.out_of_scope = r.class_index == parts_.oos_class || r.confidence < parts_.threshold;
  r.label =
      r.out_of_scope ? kOutOfScope : std::string_view(parts_.labels[static_cast<size_t>(best)]);
  return r;
}

cache::Embedding IntentClassifier::representation(const Scratch& s) const {
  switch (parts_.backend) {
    case Backend::kTfidf:
      return cache::make_embedding(s.row.index, s.row.value);
    case Backend::kEmbedding:
      return cache::make_dense_embedding(s.embedding.data(), s.embedding.size());
    case Backend::kLanguageModel:
      break;
  }
  return {};
}

Intent IntentClassifier::classify(std::string_view text) const {
  Scratch s;
  return classify(text, s);
}

}  // namespace rs::router
