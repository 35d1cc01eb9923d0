// Toy sparse classification data shared by the head tests: three classes, each owning two of six
// sparse features, plus two noise features (so the classes are linearly separable).
#pragma once

#include <random>
#include <vector>

#include "train/sparse.h"

namespace rs::train {

inline SparseMatrix toy(std::vector<int>& y, int n, uint64_t seed) {
  SparseMatrix x(8);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) {
    const int c = i % 3;
    SparseRow r;
    r.index = {static_cast<uint32_t>(2 * c + static_cast<int>(rng() % 2)),
               static_cast<uint32_t>(6 + rng() % 2)};
    r.value = {0.9f, 0.4f};
    x.add_row(view(r));
    y.push_back(c);
  }
  return x;
}

}  // namespace rs::train
