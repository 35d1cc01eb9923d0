#include "eval/route_eval.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <unordered_map>

#include "core/error.h"
#include "eval/latency.h"

namespace rs::eval {

namespace {

using json = nlohmann::json;

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      cur += static_cast<char>(c);
    } else if (c >= 'A' && c <= 'Z') {
      cur += static_cast<char>(c - 'A' + 'a');
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Bucket -> count for the uni- and bigrams of `text`.
std::unordered_map<uint32_t, int> hashed_counts(const std::string& text, int bits) {
  const uint32_t mask = (1u << bits) - 1;
  std::unordered_map<uint32_t, int> counts;
  const auto w = words(text);
  for (size_t i = 0; i < w.size(); ++i) {
    ++counts[static_cast<uint32_t>(fnv1a(w[i])) & mask];
    if (i + 1 < w.size())
      ++counts[static_cast<uint32_t>(fnv1a(w[i + 1], fnv1a(" ", fnv1a(w[i])))) & mask];
  }
  return counts;
}

double sigmoid(double z) {
  return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
}

}  // namespace

std::vector<RouteExample> load_route_data(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RS_CHECK(in.good(), "cannot open '{}'", path);
  std::vector<RouteExample> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json j = json::parse(line, nullptr, false);
    RS_CHECK(j.is_object(), "'{}' line {}: not a JSON object", path, n);
    RouteExample ex;
    auto text = j.find("text");
    RS_CHECK(text != j.end() && text->is_string(), "'{}' line {}: missing string \"text\"", path,
             n);
    ex.text = text->get<std::string>();
    for (auto [key, dst] : {std::pair{"small_correct", &ex.small_correct},
                            std::pair{"large_correct", &ex.large_correct}}) {
      auto it = j.find(key);
      RS_CHECK(it != j.end() && (it->is_boolean() || it->is_number()),
               "'{}' line {}: missing \"{}\" (true/false or 0/1)", path, n, key);
      *dst = it->is_boolean() ? it->get<bool>() : it->get<double>() > 0.5;
    }
    out.push_back(std::move(ex));
  }
  RS_CHECK(!out.empty(), "'{}' has no rows", path);
  return out;
}

void HashedTfidf::fit(const std::vector<std::string>& docs) {
  std::vector<int> df(dim(), 0);
  for (const auto& d : docs)
    for (const auto& [k, c] : hashed_counts(d, bits_)) ++df[k];
  idf_.assign(dim(), 0);
  const double n = static_cast<double>(docs.size());
  for (uint32_t k = 0; k < dim(); ++k)
    idf_[k] = static_cast<float>(std::log((1 + n) / (1 + df[k])) + 1);
}

SparseVec HashedTfidf::transform(const std::string& doc) const {
  RS_CHECK(!idf_.empty(), "HashedTfidf::transform before fit");
  SparseVec v;
  for (const auto& [k, c] : hashed_counts(doc, bits_)) {
    v.index.push_back(k);
    v.value.push_back(static_cast<float>((1 + std::log(static_cast<double>(c))) * idf_[k]));
  }
  double norm = 0;
  for (float x : v.value) norm += static_cast<double>(x) * x;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (float& x : v.value) x = static_cast<float>(x / norm);
  return v;
}

void LogisticRegression::fit(const std::vector<SparseVec>& x, const std::vector<int>& y,
                             uint32_t dim, const LogRegOptions& opt) {
  RS_CHECK(x.size() == y.size() && !x.empty(), "logistic regression: {} inputs, {} labels",
           x.size(), y.size());
  w_.assign(dim, 0);
  b_ = 0;
  std::vector<float> g2(dim, 0);
  double gb2 = 0;
  constexpr double kEps = 1e-8;
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(opt.seed);
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order) {
      const double g = predict(x[i]) - y[i];
      // L2 applied to the weights this example touches ("lazy" regularisation): the usual
      // sparse-SGD approximation, which keeps a step O(non-zeros) instead of O(dim).
      for (size_t k = 0; k < x[i].index.size(); ++k) {
        const uint32_t j = x[i].index[k];
        const double grad = g * x[i].value[k] + opt.l2 * w_[j];
        g2[j] += static_cast<float>(grad * grad);
        w_[j] -= static_cast<float>(opt.learning_rate * grad / std::sqrt(g2[j] + kEps));
      }
      gb2 += g * g;
      b_ -= opt.learning_rate * g / std::sqrt(gb2 + kEps);
    }
  }
}

double LogisticRegression::predict(const SparseVec& x) const {
  double z = b_;
  for (size_t k = 0; k < x.index.size(); ++k) z += static_cast<double>(w_[x.index[k]]) * x.value[k];
  return sigmoid(z);
}

double LogisticRegression::log_loss(const std::vector<SparseVec>& x,
                                    const std::vector<int>& y) const {
  double loss = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double p = std::clamp(predict(x[i]), 1e-12, 1 - 1e-12);
    loss -= y[i] ? std::log(p) : std::log(1 - p);
  }
  return loss / static_cast<double>(x.size());
}

RouteMetrics evaluate_router(const std::vector<double>& score,
                             const std::vector<RouteExample>& data) {
  RS_CHECK(score.size() == data.size() && !data.empty(), "{} scores for {} queries", score.size(),
           data.size());
  const double n = static_cast<double>(data.size());
  double small = 0, large = 0;
  for (const auto& d : data) {
    small += d.small_correct;
    large += d.large_correct;
  }
  RouteMetrics m;
  m.quality_small = small / n;
  m.quality_large = large / n;
  RS_CHECK(large != small, "the two models are equally accurate ({:.4f}): PGR is undefined",
           m.quality_small);
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] > score[b]; });
  auto point = [&](double routed, double correct) {
    const double q = correct / n;
    return CurvePoint{routed / n, q, (q - m.quality_small) / (m.quality_large - m.quality_small)};
  };
  double correct = small;
  m.curve.push_back(point(0, correct));
  for (size_t i = 0; i < order.size();) {
    size_t j = i;  // a group of equal scores crosses the threshold together
    while (j < order.size() && score[order[j]] == score[order[i]]) {
      const auto& d = data[order[j]];
      correct += static_cast<double>(d.large_correct) - static_cast<double>(d.small_correct);
      ++j;
    }
    m.curve.push_back(point(static_cast<double>(j), correct));
    i = j;
  }
  for (size_t i = 1; i < m.curve.size(); ++i)
    m.apgr += (m.curve[i].call_fraction - m.curve[i - 1].call_fraction) *
              (m.curve[i].pgr + m.curve[i - 1].pgr) / 2;
  m.cpt50 = call_performance_threshold(m.curve, 0.5);
  m.cpt80 = call_performance_threshold(m.curve, 0.8);
  return m;
}

double call_performance_threshold(const std::vector<CurvePoint>& curve, double pgr) {
  for (size_t i = 0; i < curve.size(); ++i) {
    if (curve[i].pgr < pgr) continue;
    if (i == 0) return curve[0].call_fraction;
    const CurvePoint& a = curve[i - 1];
    const CurvePoint& b = curve[i];
    return a.call_fraction + (pgr - a.pgr) / (b.pgr - a.pgr) * (b.call_fraction - a.call_fraction);
  }
  return 1.0;  // not reached before every query goes to the large model
}

double pgr_at(const std::vector<CurvePoint>& curve, double c) {
  for (size_t i = 1; i < curve.size(); ++i) {
    const CurvePoint& a = curve[i - 1];
    const CurvePoint& b = curve[i];
    if (c <= b.call_fraction) {
      if (b.call_fraction == a.call_fraction) return b.pgr;
      return a.pgr + (c - a.call_fraction) / (b.call_fraction - a.call_fraction) * (b.pgr - a.pgr);
    }
  }
  return curve.back().pgr;
}

RandomRouterStats random_router(const std::vector<RouteExample>& data, int seeds, uint64_t seed) {
  RS_CHECK(seeds > 0, "random router: seeds must be positive");
  std::mt19937_64 rng(seed);
  std::vector<double> apgr, cpt50, cpt80;
  std::vector<double> score(data.size());
  std::iota(score.begin(), score.end(), 0.0);
  for (int s = 0; s < seeds; ++s) {
    std::shuffle(score.begin(), score.end(), rng);
    const RouteMetrics m = evaluate_router(score, data);
    apgr.push_back(m.apgr);
    cpt50.push_back(m.cpt50);
    cpt80.push_back(m.cpt80);
  }
  auto mean = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  RandomRouterStats r;
  r.seeds = seeds;
  r.apgr_mean = mean(apgr);
  r.apgr_lo = percentile(apgr, 2.5);
  r.apgr_hi = percentile(apgr, 97.5);
  r.cpt50_mean = mean(cpt50);
  r.cpt50_lo = percentile(cpt50, 2.5);
  r.cpt50_hi = percentile(cpt50, 97.5);
  r.cpt80_mean = mean(cpt80);
  r.cpt80_lo = percentile(cpt80, 2.5);
  r.cpt80_hi = percentile(cpt80, 97.5);
  return r;
}

RouterTraining TextRouter::fit(const std::vector<RouteExample>& train, RouterScore kind,
                               uint64_t seed, const std::function<void(int, int)>& progress) {
  RS_CHECK(train.size() >= 10, "need at least 10 training rows, got {}", train.size());
  kind_ = kind;
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  const size_t n_val = train.size() / 5;
  RouterTraining info;
  info.n_validation = static_cast<int>(n_val);
  info.n_train = static_cast<int>(train.size());

  // Validation split: features fitted on the fitting part only, so the choice is honest.
  std::vector<std::string> fit_docs;
  for (size_t i = n_val; i < order.size(); ++i) fit_docs.push_back(train[order[i]].text);
  HashedTfidf fx;
  fx.fit(fit_docs);
  std::vector<SparseVec> xf, xv;
  std::vector<int> ys_f, yl_f, ys_v, yl_v;
  for (size_t i = 0; i < order.size(); ++i) {
    const RouteExample& ex = train[order[i]];
    const bool val = i < n_val;
    (val ? xv : xf).push_back(fx.transform(ex.text));
    (val ? ys_v : ys_f).push_back(ex.small_correct);
    (val ? yl_v : yl_f).push_back(ex.large_correct);
  }
  const double grid[] = {1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1};
  const int n_models = kind == RouterScore::kGain ? 2 : 1;
  const int total = n_models * (static_cast<int>(std::size(grid)) + 1);
  int done = 0;
  auto step = [&] {
    if (progress) progress(++done, total);
  };
  auto choose = [&](const std::vector<int>& yf, const std::vector<int>& yv, double& best_l2,
                    double& best_loss) {
    best_loss = INFINITY;
    for (double l2 : grid) {
      LogisticRegression lr;
      LogRegOptions o;
      o.l2 = l2;
      o.seed = seed;
      lr.fit(xf, yf, fx.dim(), o);
      const double loss = lr.log_loss(xv, yv);
      step();
      if (loss < best_loss) {
        best_loss = loss;
        best_l2 = l2;
      }
    }
  };
  choose(ys_f, ys_v, info.l2_small, info.val_loss_small);
  if (kind == RouterScore::kGain) choose(yl_f, yl_v, info.l2_large, info.val_loss_large);

  // Refit on everything.
  std::vector<std::string> docs;
  for (const auto& ex : train) docs.push_back(ex.text);
  features_ = HashedTfidf();
  features_.fit(docs);
  std::vector<SparseVec> x;
  std::vector<int> ys, yl;
  for (const auto& ex : train) {
    x.push_back(features_.transform(ex.text));
    ys.push_back(ex.small_correct);
    yl.push_back(ex.large_correct);
  }
  LogRegOptions o;
  o.seed = seed;
  o.l2 = info.l2_small;
  small_.fit(x, ys, features_.dim(), o);
  step();
  if (kind == RouterScore::kGain) {
    o.l2 = info.l2_large;
    large_.fit(x, yl, features_.dim(), o);
    step();
  }
  return info;
}

double TextRouter::score(const std::string& text) const {
  const SparseVec x = features_.transform(text);
  const double p_small = small_.predict(x);
  if (kind_ == RouterScore::kSmallWrong) return 1 - p_small;
  return large_.predict(x) - p_small;
}

}  // namespace rs::eval
