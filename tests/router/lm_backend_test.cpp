// The language-model back end of the intent classifier: every label's score is the sum of its
// tokens' log-probabilities as a completion of the filled template, checked against an
// independent computation (Model::forward over the whole prompt + label sequence, no KV prefix
// reuse, log-softmax here); arg-max and confidence follow from those scores; the router file
// round-trips (version 2) and bad input is a clear rs::Error.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/loader.h"
#include "router/intent_classifier.h"
#include "router/router_file.h"
#include "router/router_training.h"
#include "router_test_data.h"
#include "test_util.h"
#include "train/data.h"

namespace rs::router {
namespace {

namespace fs = std::filesystem;

const std::string kTemplate = "Message: {text}\nLabel:";

fs::path stories() {
  return rs::test::shared_dir() / "models/stories260K.gguf";
}

ClassifierParts lm_parts(const std::vector<std::string>& labels, const std::string& model,
                         const std::string& lora = "") {
  ClassifierParts p;
  p.backend = Backend::kLanguageModel;
  p.labels = labels;
  p.lm.model = model;
  p.lm.lora = lora;
  p.lm.prompt_template = kTemplate;
  p.head.n_classes = static_cast<uint32_t>(labels.size());
  return p;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// log p(" " + label | prompt) from one forward pass over the full sequence.
struct Reference {
  double log_prob = 0;
  int n_tokens = 0;
};
Reference reference(const LoadedModel& lm, const std::string& prompt, const std::string& label) {
  const Tokenizer& tok = lm.require_tokenizer();
  const HParams& hp = lm.model->hparams();
  const std::vector<int32_t> p = tok.encode(prompt, true, false);
  const std::vector<int32_t> full = tok.encode(prompt + " " + label, true, false);
  size_t start = 0;
  while (start < p.size() && start < full.size() && p[start] == full[start]) ++start;
  KVCache cache(hp, static_cast<int64_t>(full.size()));
  Vec logits;
  lm.model->forward(full, cache, nullptr, logits, true, lm.lora.get());
  Reference r;
  for (size_t t = std::max<size_t>(start, 1); t < full.size(); ++t) {
    const float* row = logits.data() + (t - 1) * static_cast<size_t>(hp.n_vocab);
    double z = 0, mx = row[0];
    for (int64_t v = 1; v < hp.n_vocab; ++v) mx = std::max<double>(mx, row[v]);
    for (int64_t v = 0; v < hp.n_vocab; ++v) z += std::exp(static_cast<double>(row[v]) - mx);
    r.log_prob += static_cast<double>(row[full[t]]) - mx - std::log(z);
    ++r.n_tokens;
  }
  return r;
}

void check_against_reference(const std::shared_ptr<const LoadedModel>& model, bool length_norm) {
  const std::vector<std::string> labels = {"ham", "spam", "happy dragon"};
  ClassifierParts parts = lm_parts(labels, model->path);
  parts.lm.length_norm = length_norm;
  parts.temperature = 1.7f;
  const IntentClassifier clf(parts, model);
  IntentClassifier::Scratch s;
  for (const std::string text :
       {"WINNER!! Call now to claim your free prize", "Once upon a time there was a cat", "ok"}) {
    SCOPED_TRACE(text);
    std::vector<float> z(labels.size());
    clf.logits(text, s, z.data());
    std::vector<double> ref(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      const Reference r = reference(*model, train::fill_template(kTemplate, text), labels[i]);
      ASSERT_GT(r.n_tokens, 0);
      ref[i] = length_norm ? r.log_prob / r.n_tokens : r.log_prob;
      EXPECT_NEAR(z[i], ref[i], 1e-4) << labels[i];
      EXPECT_LT(ref[i], 0);
    }
    // Arg-max and confidence: softmax(ref / T).
    const size_t best = static_cast<size_t>(std::max_element(ref.begin(), ref.end()) - ref.begin());
    double sum = 0;
    for (double v : ref) sum += std::exp((v - ref[best]) / parts.temperature);
    const Intent r = clf.classify(text, s);
    EXPECT_EQ(r.class_index, static_cast<int>(best));
    EXPECT_EQ(r.label, labels[best]);
    EXPECT_NEAR(r.confidence, 1.0 / sum, 1e-5);
    EXPECT_FALSE(r.out_of_scope);  // threshold 0, no oos label
  }
}

TEST(RouterLm, ScoresAreFullSequenceLogProbs) {
  RS_REQUIRE_SHARED();
  if (!fs::exists(stories())) GTEST_SKIP() << "no " << stories();
  const auto model = std::make_shared<const LoadedModel>(load_model(stories().string()));
  check_against_reference(model, false);
  check_against_reference(model, true);
}

TEST(RouterLm, ScoresWithLoraAdapter) {
  RS_REQUIRE_SHARED();
  const fs::path lora = rs::test::shared_dir() / "models/lora/stories260K-synthetic-qv-r4";
  if (!fs::exists(stories()) || !fs::exists(lora))
    GTEST_SKIP() << "no " << stories() << " / " << lora;
  const auto model =
      std::make_shared<const LoadedModel>(load_model(stories().string(), "", lora.string()));
  ASSERT_TRUE(model->lora);
  check_against_reference(model, false);
  // The adapter changes the scores (so the test above really applied it).
  const auto base = std::make_shared<const LoadedModel>(load_model(stories().string()));
  const IntentClassifier a(lm_parts({"ham", "spam"}, stories().string()), base);
  const IntentClassifier b(lm_parts({"ham", "spam"}, stories().string(), lora.string()), model);
  IntentClassifier::Scratch s;
  float za[2], zb[2];
  a.logits("free prize", s, za);
  b.logits("free prize", s, zb);
  EXPECT_GT(std::abs(za[0] - zb[0]), 1e-3);
}

TEST(RouterLm, TrainSaveLoadRoundTrip) {
  RS_REQUIRE_SHARED();
  if (!fs::exists(stories())) GTEST_SKIP() << "no " << stories();
  // Labels from the training rows; validation rows choose the temperature and threshold.
  const std::vector<train::LabeledText> train = {{"a", "ham", 1}, {"b", "spam", 2}};
  std::vector<train::LabeledText> val;
  for (int i = 0; i < 8; ++i)
    val.push_back({i % 2 ? "Free entry! Text WIN to 80082 now " + std::to_string(i)
                         : "I will be home late tonight, love " + std::to_string(i),
                   i % 2 ? "spam" : "ham", i + 1});
  RouterTrainOptions o;
  o.lm.model = stories().string();
  o.lm.prompt_template = kTemplate;
  RouterTrainReport rep;
  const IntentClassifier clf = train_router(train, val, o, &rep);
  EXPECT_EQ(clf.parts().backend, Backend::kLanguageModel);
  EXPECT_EQ(clf.labels(), (std::vector<std::string>{"ham", "spam"}));
  EXPECT_TRUE(fs::path(clf.parts().lm.model).is_absolute());
  EXPECT_EQ(rep.n_heldout, 8);
  EXPECT_NE(rep.temperature, 1.0);
  EXPECT_LE(rep.heldout_nll_after, rep.heldout_nll_before + 1e-9);
  // The reported accuracy is the arg-max accuracy of the classifier's own logits.
  IntentClassifier::Scratch s;
  int right = 0;
  for (const auto& r : val) right += clf.classify(r.text, s).label == r.label;
  EXPECT_NEAR(rep.heldout_accuracy, right / 8.0, 1e-12);

  const auto path = (fs::temp_directory_path() / "rs_lm_backend.router").string();
  clf.save(path);
  const auto bytes = serialize_router(clf.parts());
  EXPECT_EQ(bytes[8], 2) << "the language model needs router file version 2";
  const IntentClassifier back = IntentClassifier::load(path);
  EXPECT_EQ(back.parts().backend, Backend::kLanguageModel);
  EXPECT_EQ(back.parts().lm.model, clf.parts().lm.model);
  EXPECT_EQ(back.parts().lm.prompt_template, kTemplate);
  EXPECT_EQ(back.parts().lm.length_norm, false);
  EXPECT_EQ(back.temperature(), clf.temperature());
  EXPECT_EQ(back.threshold(), clf.threshold());
  EXPECT_EQ(serialize_router(back.parts()), bytes);
  IntentClassifier::Scratch s2;
  for (const auto& r : val) {
    const Intent x = clf.classify(r.text, s), y = back.classify(r.text, s2);
    EXPECT_EQ(x.label, y.label);
    EXPECT_EQ(x.confidence, y.confidence);
  }
  // Every truncation of the file is an error, never a crash.
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(parse_router(std::span(bytes).first(n), "t.router"), Error) << n;
  fs::remove(path);
}

TEST(RouterLm, BadInputIsAnError) {
  ClassifierParts p = lm_parts({"ham", "spam"}, "/nonexistent/model.gguf");
  p.lm.prompt_template = "Label:";
  EXPECT_NE(error_of([&] { validate(p); }).find("{text}"), std::string::npos);
  p = lm_parts({}, "/nonexistent/model.gguf");
  EXPECT_NE(error_of([&] { validate(p); }).find("0 classes"), std::string::npos);
  p = lm_parts({"ham", "spam"}, "");
  EXPECT_NE(error_of([&] { validate(p); }).find("without a model path"), std::string::npos);
  p = lm_parts({"ham", "spam"}, "/nonexistent/model.gguf");
  EXPECT_NE(error_of([&] { IntentClassifier c(p); }).find("'/nonexistent/model.gguf' not found"),
            std::string::npos);
  // Training: one label, no labels, a validation label outside the set.
  RouterTrainOptions o;
  o.lm.model = "/nonexistent/model.gguf";
  o.lm.prompt_template = kTemplate;
  o.labels = {"ham"};
  EXPECT_NE(error_of([&] { train_router({}, {}, o); }).find("at least 2 labels (got 1)"),
            std::string::npos);
  o.labels = {};
  EXPECT_NE(error_of([&] { train_router({}, {}, o); }).find("at least 2 labels (got 0)"),
            std::string::npos);
  o.labels = {"ham", "spam"};
  EXPECT_NE(error_of([&] {
              train_router({}, {{"x", "eggs", 3}}, o);
            }).find("'eggs'"),
            std::string::npos);
  o.lm.prompt_template = "no placeholder";
  EXPECT_NE(error_of([&] { train_router({}, {}, o); }).find("{text}"), std::string::npos);
  // A file with head weights for the language model, or the back end in a version-1 file.
  ClassifierParts good = lm_parts({"ham", "spam"}, "/m.gguf");
  auto bytes = serialize_router(good);
  EXPECT_NO_THROW(parse_router(bytes, "t.router"));
  good.head.bias = {0, 0};
  EXPECT_NE(error_of([&] { validate(good); }).find("no head weights"), std::string::npos);
}

TEST(RouterLm, EncoderIsNotALanguageModel) {
  RS_REQUIRE_SHARED();
  const fs::path bert = rs::test::shared_dir() / "oracle/models/bert-f32.gguf";
  if (!fs::exists(bert)) GTEST_SKIP() << "no " << bert;
  EXPECT_NE(error_of([&] {
              IntentClassifier c(lm_parts({"a", "b"}, bert.string()));
            }).find("needs a generative model"),
            std::string::npos);
}

TEST(RouterFile, TfidfAndEmbeddingFilesStayVersion1) {
  RouterTrainOptions o;
  o.l2_grid = {1e-4};
  o.epochs = 1;
  o.svm = false;
  const auto bytes = serialize_router(train_router(test::toy_intents(4), {}, o).parts());
  EXPECT_EQ(bytes[8], 1);
  EXPECT_NO_THROW(parse_router(bytes, "t.router"));
}

}  // namespace
}  // namespace rs::router
