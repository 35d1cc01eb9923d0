// kernels::attend (both paths, f32 and f16 keys/values) against a naive double-precision
// attention.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/attention.h"

namespace {

using rs::kernels::AttendArgs;

// kf / vf: the keys and values as the kernel sees them (already rounded when they are f16).
void naive(const AttendArgs& a, const float* kf, const float* vf, std::vector<double>& out) {
  const int64_t nk = a.j1 - a.j0;
  out.assign(static_cast<size_t>(a.n_q * a.head_dim_v), 0.0);
  for (int h = 0; h < a.n_q; ++h) {
    std::vector<double> s(static_cast<size_t>(nk));
    double mx = -1e300;
    for (int64_t j = 0; j < nk; ++j) {
      double d = 0;
      for (int64_t i = 0; i < a.head_dim; ++i)
        d += static_cast<double>(a.q[h * a.q_stride + i]) * kf[(a.j0 + j) * a.k_stride + i];
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
            s[static_cast<size_t>(j)] / sum * vf[(a.j0 + j) * a.v_stride + i];
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
      // The same keys and values in f16, and their exact f32 values.
      std::vector<uint16_t> k16(k.size()), v16(v.size());
      std::vector<float> k16f(k.size()), v16f(v.size());
      for (size_t i = 0; i < k.size(); ++i) {
        k16[i] = rs::fp32_to_fp16(k[i]);
        v16[i] = rs::fp32_to_fp16(v[i]);
        k16f[i] = rs::fp16_to_fp32(k16[i]);
        v16f[i] = rs::fp16_to_fp32(v16[i]);
      }
      for (bool f16 : {false, true}) {
        for (auto [j0, j1] : {std::pair<int64_t, int64_t>{0, 1}, {0, 70}, {13, 50}}) {
          for (float softcap : {0.0f, 30.0f}) {
            AttendArgs a;
            a.q = q.data();
            a.q_stride = hd;
            a.n_q = n_q;
            // the second head
            a.k = f16 ? static_cast<const void*>(k16.data() + hd) : k.data() + hd;
            a.k_stride = kv_stride;
            a.v = f16 ? static_cast<const void*>(v16.data() + hd) : v.data() + hd;
            a.v_stride = kv_stride;
            a.kv_f16 = f16;
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
            naive(a, (f16 ? k16f.data() : k.data()) + hd, (f16 ? v16f.data() : v.data()) + hd, ref);
            for (size_t i = 0; i < out.size(); ++i) {
              EXPECT_NEAR(out[i], ref[i], 1e-4) << "hd " << hd << " f16 " << f16 << " i " << i;
              EXPECT_NEAR(out2[i], ref[i], 1e-4) << "hd " << hd << " f16 " << f16 << " i " << i;
            }
          }
        }
      }
    }
  }
}

// The heads of one call give the same bits as each head alone (the kernel groups heads to share
// key and value loads; every (query, key) pair keeps its own operations and order).
TEST(Attend, HeadsOfOneCallMatchEachHeadAlone) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0, 1);
  const int64_t hd = 64, n_ctx = 45;
  for (int n_q : {2, 3, 4, 5, 7}) {
    std::vector<float> q(static_cast<size_t>(n_q * hd)), k(static_cast<size_t>(n_ctx * hd)),
        v(k.size());
    for (auto* buf : {&q, &k, &v})
      for (float& x : *buf) x = nd(rng);
    std::vector<uint16_t> k16(k.size()), v16(v.size());
    for (size_t i = 0; i < k.size(); ++i) {
      k16[i] = rs::fp32_to_fp16(k[i]);
      v16[i] = rs::fp32_to_fp16(v[i]);
    }
    for (bool f16 : {false, true}) {
      AttendArgs a;
      a.q = q.data();
      a.q_stride = hd;
      a.n_q = n_q;
      a.k = f16 ? static_cast<const void*>(k16.data()) : k.data();
      a.v = f16 ? static_cast<const void*>(v16.data()) : v.data();
      a.k_stride = a.v_stride = hd;
      a.kv_f16 = f16;
      a.j0 = 3;
      a.j1 = n_ctx;
      a.head_dim = a.head_dim_v = hd;
      a.scale = 0.125f;
      a.o_stride = hd;
      std::vector<float> all(static_cast<size_t>(n_q * hd)), one(all.size()),
          scores(static_cast<size_t>(n_q * n_ctx));
      a.scores = scores.data();
      a.out = all.data();
      rs::kernels::attend(a);
      for (int h = 0; h < n_q; ++h) {
        AttendArgs b = a;
        b.n_q = 1;
        b.q = q.data() + h * hd;
        b.out = one.data() + h * hd;
        rs::kernels::attend(b);
      }
      for (size_t i = 0; i < all.size(); ++i)
        ASSERT_EQ(all[i], one[i]) << "n_q " << n_q << " f16 " << f16 << " i " << i;
    }
  }
}

}  // namespace
