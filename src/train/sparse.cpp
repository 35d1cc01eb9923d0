#include "train/sparse.h"

#include "core/error.h"

namespace rs::train {

void SparseMatrix::add_row(RowView r) {
  RS_CHECK(r.index.size() == r.value.size(), "sparse row: {} indices but {} values", r.index.size(),
           r.value.size());
  for (uint32_t c : r.index) RS_CHECK(c < n_cols_, "sparse row: column {} >= {}", c, n_cols_);
  col_.insert(col_.end(), r.index.begin(), r.index.end());
  val_.insert(val_.end(), r.value.begin(), r.value.end());
  row_ptr_.push_back(static_cast<int64_t>(col_.size()));
}

void SparseMatrix::add_dense_row(std::span<const float> x) {
  RS_CHECK(x.size() == n_cols_, "dense row of {} values for {} columns", x.size(), n_cols_);
  for (uint32_t c = 0; c < n_cols_; ++c) col_.push_back(c);
  val_.insert(val_.end(), x.begin(), x.end());
  row_ptr_.push_back(static_cast<int64_t>(col_.size()));
}

}  // namespace rs::train
