// Sparse feature vectors and a row-compressed (CSR) matrix of them: the input of the linear
// classifier heads. Dense features (sentence embeddings) are rows that list every column.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rs::train {

struct SparseRow {
  std::vector<uint32_t> index;  // columns, each < the matrix's n_cols
  std::vector<float> value;
  void clear() {
    index.clear();
    value.clear();
  }
};

// A read-only view of one row (of a SparseRow or of a SparseMatrix).
struct RowView {
  std::span<const uint32_t> index;
  std::span<const float> value;
};

inline RowView view(const SparseRow& r) {
  return {r.index, r.value};
}

class SparseMatrix {
 public:
  explicit SparseMatrix(uint32_t n_cols = 0) : n_cols_(n_cols) {}
  void add_row(RowView r);
  void add_dense_row(std::span<const float> x);  // every column, in order
  int64_t rows() const { return static_cast<int64_t>(row_ptr_.size()) - 1; }
  uint32_t cols() const { return n_cols_; }
  RowView row(int64_t i) const {
    const auto b = static_cast<size_t>(row_ptr_[i]), e = static_cast<size_t>(row_ptr_[i + 1]);
    return {std::span(col_).subspan(b, e - b), std::span(val_).subspan(b, e - b)};
  }

 private:
  uint32_t n_cols_;
  std::vector<int64_t> row_ptr_{0};
  std::vector<uint32_t> col_;
  std::vector<float> val_;
};

}  // namespace rs::train
