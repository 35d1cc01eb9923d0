// Attention of one query position against a run of cached keys, for the query heads that share
// one key/value head (grouped-query attention): the inner loop of Model::attention.
//
//   for each query head h < n_q:  s_j = softcap(scale * q_h . k_j),  j in [j0, j1)
//                                 p = softmax(s),  out_h = sum_j p_j v_j
//
// Masking (causal, sliding window) is the caller's choice of [j0, j1): both are contiguous runs.
// Layout: q_h = q + h * q_stride (head_dim floats); k_j = k + j * k_stride; v_j = v + j * v_stride
// (head_dim / head_dim_v elements of f32, or of IEEE f16 when kv_f16: the KV cache's type);
// strides count elements. out_h = out + h * o_stride. scores: n_q * (j1 - j0) floats of scratch.
//
// Every (query, key) pair is computed with the same operations in the same order whatever the
// other heads, positions or threads of the call: results are batch-invariant.
#pragma once

#include <cstdint>

namespace rs::kernels {

struct AttendArgs {
  const float* q = nullptr;
  int64_t q_stride = 0;
  int n_q = 1;
  const void* k = nullptr;
  int64_t k_stride = 0;
  const void* v = nullptr;
  int64_t v_stride = 0;
  bool kv_f16 = false;
  int64_t j0 = 0, j1 = 0;
  int64_t head_dim = 0, head_dim_v = 0;
  float scale = 1, softcap = 0;  // softcap <= 0: none
  float* out = nullptr;
  int64_t o_stride = 0;
  float* scores = nullptr;
};

// AVX2+FMA when the CPU has it (chosen once), else portable code.
void attend(const AttendArgs& a);
void attend_scalar(const AttendArgs& a);  // the portable path, for tests

}  // namespace rs::kernels
