#include "train/linear_svm.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"

namespace rs::train {

int train_binary_svm(const SparseMatrix& x, std::span<const uint8_t> positive,
                     const SvmTrainOptions& opt, std::span<float> w_out, float& b_out) {
  const auto n = static_cast<size_t>(x.rows());
  RS_CHECK(positive.size() == n && w_out.size() == x.cols(),
           "svm training: {} rows, {} labels, {} weights for {} features", n, positive.size(),
           w_out.size(), x.cols());
  const double bias = opt.bias;
  const double diag = 0.5 / opt.c;  // the squared hinge as a diagonal term of the dual
  std::vector<double> w(x.cols(), 0.0);
  double wb = 0;
  std::vector<double> alpha(n, 0.0), qd(n);
  for (size_t i = 0; i < n; ++i) {
    const RowView r = x.row(static_cast<int64_t>(i));
    double s = bias * bias + diag;
    for (float v : r.value) s += static_cast<double>(v) * v;
    qd[i] = s;
  }
  std::vector<size_t> index(n);
  std::iota(index.begin(), index.end(), size_t{0});
  std::mt19937_64 rng(opt.seed);
  size_t active = n;
  const double inf = std::numeric_limits<double>::infinity();
  double pg_max_old = inf;  // no upper bound on alpha, so only the lower side shrinks
  int iter = 0;
  while (iter < opt.max_iterations) {
    double pg_max = -inf, pg_min = inf;
    std::shuffle(index.begin(), index.begin() + static_cast<std::ptrdiff_t>(active), rng);
    for (size_t s = 0; s < active; ++s) {
      const size_t i = index[s];
      const double yi = positive[i] ? 1.0 : -1.0;
      const RowView r = x.row(static_cast<int64_t>(i));
      double wx = wb * bias;
      for (size_t f = 0; f < r.index.size(); ++f) wx += w[r.index[f]] * r.value[f];
      const double g = yi * wx - 1.0 + diag * alpha[i];
      double pg = 0;
      if (alpha[i] == 0) {
        if (g > pg_max_old) {  // shrink: this variable is very likely to stay at the bound
          --active;
          std::swap(index[s], index[active]);
          --s;
          continue;
        }
        pg = std::min(g, 0.0);
      } else {
        pg = g;
      }
      pg_max = std::max(pg_max, pg);
      pg_min = std::min(pg_min, pg);
      if (std::fabs(pg) > 1e-12) {
        const double old = alpha[i];
        alpha[i] = std::max(old - g / qd[i], 0.0);
        const double d = (alpha[i] - old) * yi;
        for (size_t f = 0; f < r.index.size(); ++f) w[r.index[f]] += d * r.value[f];
        wb += d * bias;
      }
    }
    ++iter;
    if (pg_max - pg_min <= opt.tolerance) {
      if (active == n) break;
      active = n;  // check the shrunken variables once more
      pg_max_old = inf;
      continue;
    }
    pg_max_old = pg_max <= 0 ? inf : pg_max;
  }
  for (size_t j = 0; j < w.size(); ++j) w_out[j] = static_cast<float>(w[j]);
  b_out = static_cast<float>(wb);
  return iter;
}

SoftmaxHead train_linear_svm(const SparseMatrix& x, std::span<const int> y, uint32_t n_classes,
                             const SvmTrainOptions& opt,
                             const std::function<void(uint32_t)>& on_class) {
  RS_CHECK(opt.c > 0 && opt.bias > 0 && opt.tolerance > 0 && opt.max_iterations >= 1,
           "svm training: bad options (C {}, bias {}, tolerance {}, iterations {})", opt.c,
           opt.bias, opt.tolerance, opt.max_iterations);
  SoftmaxHead h = checked_zero_head(x, y, n_classes, "svm");
  const uint32_t k = n_classes;
  std::mutex mu;
  auto one = [&](uint32_t c, std::vector<uint8_t>& pos, std::vector<float>& w) {
    for (size_t i = 0; i < y.size(); ++i) pos[i] = y[i] == static_cast<int>(c);
    float b = 0;
    SvmTrainOptions o = opt;
    o.seed = opt.seed + c;
    train_binary_svm(x, pos, o, w, b);
    std::lock_guard lock(mu);  // columns of different classes interleave in memory
    for (size_t j = 0; j < w.size(); ++j) h.weights[j * k + c] = w[j];
    h.bias[c] = b * static_cast<float>(opt.bias);
    if (on_class) on_class(c);
  };
  const auto n_threads = static_cast<uint32_t>(std::clamp<int>(opt.threads, 1, 64));
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(n_threads);
  for (uint32_t t = 0; t < n_threads; ++t)
    workers.emplace_back([&, t] {
      try {
        std::vector<uint8_t> pos(y.size());
        std::vector<float> w(x.cols());
        for (uint32_t c = t; c < k; c += n_threads) one(c, pos, w);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return h;
}

}  // namespace rs::train
