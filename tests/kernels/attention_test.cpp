// kernels::attend (both paths) against a naive double-precision attention.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention.h"

namespace {

using rs::kernels::AttendArgs;

void naive(const AttendArgs& a, std::vector<double>& out) {
  const int64_t nk = a.j1 - a.j0;
  out.assign(static_cast<size_t>(a.n_q * a.head_dim_v), 0.0);
  for (int h = 0; h < a.n_q; ++h) {
    std::vector<double> s(static_cast<size_t>(nk));
    double mx = -1e300;
    for (int64_t j = 0; j < nk; ++j) {
      double d = 0;
      for (int64_t i = 0; i < a.head_dim; ++i)
        d += static_cast<double>(a.q[h * a.q_stride + i]) * a.k[(a.j0 + j) * a.k_stride + i];
      d *= a.scale;
      if (a.softcap > 0) d = a.softcap * std::tanh(d / a.softcap);
      s[static_cast<size_t>(j)] = d;
      mx = std::max(mx, d);
    }
    double sum = 0;
    for (double& x : s) sum += (x = std::exp(x - mx));
    for (int64_t j = 0; j < nk; ++j)
      for (int64_t i = 0; i < a.head_dim_v; ++i)
        out[static_cast<size_t>(h * a.head_dim_v + i)] +=
            s[static_cast<size_t>(j)] / sum * a.v[(a.j0 + j) * a.v_stride + i];
  }
}

TEST(Attend, MatchesNaiveForShapesAndRanges) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0, 1);
  for (int64_t hd : {8, 36, 64, 80, 128}) {
    for (int n_q : {1, 3}) {
      const int64_t n_ctx = 70, kv_stride = 2 * hd + 5;  // keys of two heads, padded
      std::vector<float> q(static_cast<size_t>(n_q * hd)),
          k(static_cast<size_t>(n_ctx * kv_stride)), v(k.size());
      for (auto* buf : {&q, &k, &v})
        for (float& x : *buf) x = nd(rng);
      for (auto [j0, j1] : {std::pair<int64_t, int64_t>{0, 1}, {0, 70}, {13, 50}}) {
        for (float softcap : {0.0f, 30.0f}) {
          AttendArgs a;
          a.q = q.data();
          a.q_stride = hd;
          a.n_q = n_q;
          a.k = k.data() + hd;  // the second head
          a.k_stride = kv_stride;
          a.v = v.data() + hd;
          a.v_stride = kv_stride;
          a.j0 = j0;
          a.j1 = j1;
          a.head_dim = a.head_dim_v = hd;
          a.scale = 1.0f / std::sqrt(static_cast<float>(hd));
          a.softcap = softcap;
          std::vector<float> out(static_cast<size_t>(n_q * hd)), out2(out.size()),
              scores(static_cast<size_t>(n_q * n_ctx));
          a.o_stride = hd;
          a.scores = scores.data();
          a.out = out.data();
          rs::kernels::attend(a);
          a.out = out2.data();
          rs::kernels::attend_scalar(a);
          std::vector<double> ref;
          naive(a, ref);
          for (size_t i = 0; i < out.size(); ++i) {
            EXPECT_NEAR(out[i], ref[i], 1e-4) << "hd " << hd << " i " << i;
            EXPECT_NEAR(out2[i], ref[i], 1e-4) << "hd " << hd << " i " << i;
          }
        }
      }
    }
  }
}

}  // namespace
