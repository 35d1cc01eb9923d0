// Router research on per-query correctness data (RouteLLM's MMLU set: for each question, whether
// the small and the large model answered it correctly), as Ong et al. 2024 ("RouteLLM", arXiv
// 2406.18665, section 3) measure routers:
//   * a router sends a share c of the queries to the large model; quality r is the mean
//     correctness of the answers actually used;
//   * PGR = (r - r_small) / (r_large - r_small), the share of the gap between the models the
//     router recovers;
//   * the cost-quality curve is PGR against c over every threshold of the router's score;
//   * APGR is the area under that curve (trapezoids over every threshold: the exact area of the
//     piecewise-linear curve, which a router reaches between two thresholds by randomising);
//   * CPT(x) is the smallest c whose PGR reaches x on that curve.
// The router here is deliberately simple and fast: hashed word uni/bigram TF-IDF features of the
// question text and L2-regularised logistic regression (see route-eval.md for why).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rs::eval {

struct RouteExample {
  std::string text;
  bool small_correct = false, large_correct = false;
};

// JSON Lines rows {"text", "small_correct", "large_correct"} (other fields ignored); rs::Error
// naming the line on a malformed row.
std::vector<RouteExample> load_route_data(const std::string& path);

struct SparseVec {
  std::vector<uint32_t> index;
  std::vector<float> value;
};

// Word unigrams and bigrams (runs of ASCII letters/digits, lowercased) hashed into 2^bits
// buckets (FNV-1a), weighted by sublinear TF (1 + ln count) times smoothed IDF (ln((1+N)/(1+df))
// + 1, as scikit-learn's TfidfVectorizer), then L2-normalised.
class HashedTfidf {
 public:
  explicit HashedTfidf(int bits = 18) : bits_(bits) {}
  void fit(const std::vector<std::string>& docs);
  SparseVec transform(const std::string& doc) const;
  uint32_t dim() const { return 1u << bits_; }

 private:
  int bits_;
  std::vector<float> idf_;
};

struct LogRegOptions {
  double l2 = 1e-4;  // penalty l2/2 |w|^2 per example
  int epochs = 10;
  double learning_rate = 0.5;  // Adagrad step
  uint64_t seed = 1;
};

// Binary logistic regression trained by Adagrad SGD on sparse inputs.
class LogisticRegression {
 public:
  void fit(const std::vector<SparseVec>& x, const std::vector<int>& y, uint32_t dim,
           const LogRegOptions& opt);
  double predict(const SparseVec& x) const;  // P(y = 1)
  double log_loss(const std::vector<SparseVec>& x, const std::vector<int>& y) const;

 private:
  std::vector<float> w_;
  double b_ = 0;
};

struct CurvePoint {
  double call_fraction = 0;  // share of queries sent to the large model
  double quality = 0;        // mean correctness of the answers used
  double pgr = 0;
};

struct RouteMetrics {
  double quality_small = 0, quality_large = 0;
  double apgr = 0;
  double cpt50 = 0, cpt80 = 0;    // as call fractions (0..1)
  std::vector<CurvePoint> curve;  // from c = 0 to c = 1, one point per distinct score
};

// Routes the highest scores to the large model first; equal scores move together. rs::Error
// when the sizes differ or the two models are equally good (PGR undefined).
RouteMetrics evaluate_router(const std::vector<double>& score,
                             const std::vector<RouteExample>& data);

// Smallest call fraction where the piecewise-linear curve reaches `pgr`.
double call_performance_threshold(const std::vector<CurvePoint>& curve, double pgr);
// PGR at call fraction c on the piecewise-linear curve.
double pgr_at(const std::vector<CurvePoint>& curve, double c);

// A random router over `seeds` random orders: means and the 2.5th/97.5th percentiles.
struct RandomRouterStats {
  int seeds = 0;
  double apgr_mean = 0, apgr_lo = 0, apgr_hi = 0;
  double cpt50_mean = 0, cpt50_lo = 0, cpt50_hi = 0;
  double cpt80_mean = 0, cpt80_lo = 0, cpt80_hi = 0;
};
RandomRouterStats random_router(const std::vector<RouteExample>& data, int seeds, uint64_t seed);

// The trained router. kGain scores a query by P(large correct) - P(small correct) (two models):
// routing by the expected gain in correctness; kSmallWrong by 1 - P(small correct) alone.
enum class RouterScore { kGain, kSmallWrong };

struct RouterTraining {
  double l2_small = 0, l2_large = 0;  // chosen on the validation part of train
  double val_loss_small = 0, val_loss_large = 0;
  int n_train = 0, n_validation = 0;
};

class TextRouter {
 public:
  // Picks the L2 strength of each model from a grid by log loss on a seeded 20% validation part
  // of `train`, then refits on all of `train`.
  // `progress(done, total)` is called after each model fitted (for a progress bar).
  RouterTraining fit(const std::vector<RouteExample>& train, RouterScore kind, uint64_t seed,
                     const std::function<void(int, int)>& progress = {});
  double score(const std::string& text) const;

 private:
  RouterScore kind_ = RouterScore::kGain;
  HashedTfidf features_;
  LogisticRegression small_, large_;
};

}  // namespace rs::eval
