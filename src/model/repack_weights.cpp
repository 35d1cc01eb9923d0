// Model::repack_weights: the Q4_0, Q5_0, Q8_0, Q4_K, Q6_K and float matrices into the lane layout
// of kernels/repack.h, which decoding reads at memory speed (the file's layout costs a transpose
// per block). The copies replace the mapped originals in memory: the source drops their pages, so
// the resident set stays about the file's size. All copies share one buffer, on huge pages where
// the OS allows (core/aligned_buffer.h).
#include <algorithm>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kernels/repack.h"
#include "model/model.h"

namespace rs {

void Model::repack_weights() {
  std::vector<WeightView*> views;
  auto consider = [&](WeightView& w) {
    if (w && kernels::lane_packable(w)) views.push_back(&w);
  };
  consider(w_.token_embd);
  consider(w_.output);
  for (LayerWeights& L : w_.layers)
    for (WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.gate, &L.up, &L.down})
      consider(*w);
  if (views.empty()) return;

  // Each copy starts on a 64-byte boundary, so that 512-bit loads of a group do not straddle
  // cache lines.
  auto rounded = [](const WeightView& w) {
    return (static_cast<size_t>(w.n_out) * w.row_bytes + 63) / 64 * 64;
  };
  size_t total = 0;
  for (const WeightView* w : views) total += rounded(*w);
  packed_ = AlignedBuffer(total);

  std::unordered_map<const uint8_t*, const TensorRef*> tensor_at;
  for (const auto& [name, t] : source_->all()) tensor_at.emplace(t.data, &t);
  std::vector<uint8_t*> dst(views.size());
  dst[0] = packed_.data();
  for (size_t i = 1; i < views.size(); ++i) dst[i] = dst[i - 1] + rounded(*views[i - 1]);
  // Copying is bound by page faults and memory: the matrices are split between the cores, each
  // thread taking every n-th (loading a 1B model's 600 MB took 2.0 s on one thread).
  auto pack = [&](size_t first, size_t step) {
    for (size_t i = first; i < views.size(); i += step) {
      const uint8_t* original = views[i]->data;
      *views[i] = kernels::pack_lanes(*views[i], dst[i]);
      if (auto it = tensor_at.find(original); it != tensor_at.end()) source_->release(*it->second);
    }
  };
  const size_t n_threads =
      std::min<size_t>(views.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(pack, t, n_threads);
  pack(0, n_threads);
  for (auto& th : threads) th.join();
}

}  // namespace rs
