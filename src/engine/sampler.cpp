#include "engine/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace rs {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

uint64_t resolve_seed(uint64_t seed) {
  if (seed != SamplingParams::kRandomSeed) return seed;
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ uint64_t { rd() };
}

// Total order used by every sort: higher logit first, then lower id.
struct ByLogitDesc {
  template <typename C>
  bool operator()(const C& a, const C& b) const {
    if (a.logit != b.logit) return a.logit > b.logit;
    return a.id < b.id;
  }
};

}  // namespace

Sampler::Sampler(SamplingParams params, int n_vocab)
    : params_(std::move(params)), n_vocab_(n_vocab), seed_(resolve_seed(params_.seed)) {
  RS_CHECK(n_vocab > 0, "sampler: vocabulary size must be positive, got {}", n_vocab);
  RS_CHECK(!std::isnan(params_.temperature), "sampler: temperature is NaN");
  RS_CHECK(!std::isnan(params_.top_p), "sampler: top_p is NaN");
  RS_CHECK(!std::isnan(params_.min_p), "sampler: min_p is NaN");
  RS_CHECK(params_.repeat_penalty > 0 && std::isfinite(params_.repeat_penalty),
           "sampler: repeat_penalty must be a positive number, got {}", params_.repeat_penalty);
  RS_CHECK(std::isfinite(params_.frequency_penalty) && std::isfinite(params_.presence_penalty),
           "sampler: frequency and presence penalties must be finite");
  RS_CHECK(params_.repeat_last_n >= -1 && params_.repeat_last_n <= (1 << 20),
           "sampler: repeat_last_n must be -1 (all accepted tokens), 0 (off) or 1..{}, got {}",
           1 << 20, params_.repeat_last_n);
  RS_CHECK(params_.top_logprobs >= 0, "sampler: top_logprobs must not be negative, got {}",
           params_.top_logprobs);
  rng_.seed(seed_);

  const auto n = static_cast<size_t>(n_vocab);
  if (params_.repeat_last_n > 0) ring_.resize(static_cast<size_t>(params_.repeat_last_n));
  count_.assign(n, 0);
  present_pos_.assign(n, -1);
  present_.reserve(params_.repeat_last_n > 0
                       ? std::min(n, static_cast<size_t>(params_.repeat_last_n))
                       : (params_.repeat_last_n == 0 ? 0 : n));
  work_.resize(n);
  cand_.reserve(n);
  weight_.reserve(n);
  final_.reserve(n);
  top_.reserve(std::min(n, static_cast<size_t>(params_.top_logprobs)));
}

void Sampler::accept(int32_t token) {
  RS_CHECK(token >= 0 && token < n_vocab_,
           "sampler: accepted token {} is outside the vocabulary "
           "(size {})",
           token, n_vocab_);
  if (params_.repeat_last_n == 0) return;

  auto add = [&](int32_t id) {
    if (count_[id]++ == 0) {
      present_pos_[id] = static_cast<int32_t>(present_.size());
      present_.push_back(id);
    }
  };
  auto remove = [&](int32_t id) {
    if (--count_[id] == 0) {
      const int32_t pos = present_pos_[id];
      const int32_t last = present_.back();
      present_[pos] = last;
      present_pos_[last] = pos;
      present_.pop_back();
      present_pos_[id] = -1;
    }
  };

  if (params_.repeat_last_n > 0) {
    if (ring_size_ == ring_.size()) {
      remove(ring_[ring_head_]);
    } else {
      ++ring_size_;
    }
    ring_[ring_head_] = token;
    ring_head_ = (ring_head_ + 1) % ring_.size();
  }
  add(token);
}

void Sampler::reset() {
  for (int32_t id : present_) {
    count_[id] = 0;
    present_pos_[id] = -1;
  }
  present_.clear();
  ring_head_ = ring_size_ = 0;
  rng_.seed(seed_);
  cand_.clear();
  final_.clear();
  top_.clear();
  chosen_logprob_ = std::numeric_limits<float>::quiet_NaN();
}

void Sampler::set_allowed_tokens(std::span<const int32_t> tokens) {
  RS_CHECK(!tokens.empty(), "sampler: the allowed-token set is empty");
  for (int32_t t : tokens) {
    RS_CHECK(t >= 0 && t < n_vocab_,
             "sampler: allowed token {} is outside the vocabulary (size {})", t, n_vocab_);
  }
  allowed_.assign(tokens.begin(), tokens.end());
  std::sort(allowed_.begin(), allowed_.end());
  allowed_.erase(std::unique(allowed_.begin(), allowed_.end()), allowed_.end());
}

void Sampler::clear_allowed_tokens() {
  allowed_.clear();
}

double Sampler::uniform01() {
  // The top 53 bits of one raw draw, scaled by 2^-53: exact in a double, in [0, 1).
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::apply_penalties() {
  const float rep = params_.repeat_penalty;
  const float freq = params_.frequency_penalty;
  const float pres = params_.presence_penalty;
  if (rep == 1.0f && freq == 0.0f && pres == 0.0f) return;
  for (int32_t id : present_) {
    float x = work_[id];
    if (rep != 1.0f) x = x > 0 ? x / rep : x * rep;
    const int32_t c = count_[id];
    x -= static_cast<float>(c) * freq + (c > 0 ? pres : 0.0f);
    work_[id] = x;
  }
}

void Sampler::build_candidates() {
  cand_.clear();
  float max_logit = kNegInf;
  auto add = [&](int32_t id) {
    float x = work_[id];
    if (std::isnan(x)) x = kNegInf;
    work_[id] = x;
    cand_.push_back({id, x});
    max_logit = std::max(max_logit, x);
  };
  if (allowed_.empty()) {
    for (int32_t id = 0; id < n_vocab_; ++id) add(id);
  } else {
    for (int32_t id : allowed_) add(id);
  }
  // +inf logits: those tokens share all the probability, the others get none.
  if (max_logit == kPosInf) {
    for (Candidate& c : cand_) {
      c.logit = c.logit == kPosInf ? 0.0f : kNegInf;
      work_[c.id] = c.logit;
    }
  }
}

void Sampler::compute_logprob_table() {
  const size_t want_top = std::min(cand_.size(), static_cast<size_t>(params_.top_logprobs));
  top_.clear();
  chosen_logprob_ = std::numeric_limits<float>::quiet_NaN();
  if (!params_.logprobs && want_top == 0) return;

  // cand_ still holds every candidate here: truncation has not run yet.
  float m = kNegInf;
  for (const Candidate& c : cand_) m = std::max(m, c.logit);
  if (m == kNegInf) {
    logsumexp_ = std::numeric_limits<double>::infinity();  // nothing possible: every logprob -inf
  } else {
    double sum = 0;
    for (const Candidate& c : cand_) sum += std::exp(static_cast<double>(c.logit) - m);
    logsumexp_ = m + std::log(sum);
  }
  if (want_top == 0) return;
  // Selection without a copy of the vocabulary: top_ stays sorted best first and each better
  // candidate is inserted in place (it holds raw logits until the final conversion).
  ByLogitDesc better;
  auto as_cand = [](const TokenLogprob& t) { return Candidate{t.token, t.logprob}; };
  for (const Candidate& c : cand_) {
    if (top_.size() == want_top) {
      if (!better(c, as_cand(top_.back()))) continue;
      top_.pop_back();
    }
    auto it = std::upper_bound(
        top_.begin(), top_.end(), c,
        [&](const Candidate& x, const TokenLogprob& y) { return better(x, as_cand(y)); });
    top_.insert(it, TokenLogprob{c.id, c.logit});
  }
  for (TokenLogprob& t : top_) t.logprob = logprob_of(t.logprob);
}

float Sampler::logprob_of(float logit) const {
  if (logit == kNegInf) return kNegInf;
  return static_cast<float>(static_cast<double>(logit) - logsumexp_);
}

int32_t Sampler::pick_greedy() const {
  // cand_ is in increasing id order here, so a strict comparison keeps the lowest id on ties.
  const Candidate* best = &cand_[0];
  for (const Candidate& c : cand_) {
    if (c.logit > best->logit) best = &c;
  }
  return best->id;
}

int32_t Sampler::pick_random() {
  // Tokens with probability zero never survive; if that is every token, fall back to greedy.
  float m = kNegInf;
  for (const Candidate& c : cand_) m = std::max(m, c.logit);
  if (m == kNegInf) return pick_greedy();
  cand_.erase(std::remove_if(cand_.begin(), cand_.end(),
                             [](const Candidate& c) { return c.logit == kNegInf; }),
              cand_.end());

  ByLogitDesc better;
  size_t n = cand_.size();
  size_t sorted_n = 0;  // cand_[0, sorted_n) is sorted best first and precedes the rest

  // top-k
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    const auto k = static_cast<size_t>(params_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + static_cast<ptrdiff_t>(k), cand_.end(),
                      better);
    cand_.resize(k);
    n = sorted_n = k;
  }

  // top-p: the probabilities are those of the softmax over the top-k survivors, before the
  // temperature (as llama.cpp). The sorted prefix grows only as far as the nucleus needs.
  if (params_.top_p < 1.0f && n > 1) {
    double total = 0;
    for (const Candidate& c : cand_) total += std::exp(static_cast<double>(c.logit) - m);
    const double target = static_cast<double>(params_.top_p) * total;
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      if (i == sorted_n) {
        const size_t next = std::min(n, std::max<size_t>(64, 2 * sorted_n));
        std::partial_sort(cand_.begin() + static_cast<ptrdiff_t>(sorted_n),
                          cand_.begin() + static_cast<ptrdiff_t>(next), cand_.end(), better);
        sorted_n = next;
      }
      cum += std::exp(static_cast<double>(cand_[i].logit) - m);
      if (cum >= target) {
        keep = i + 1;
        break;
      }
    }
    cand_.resize(keep);
    n = keep;
    sorted_n = std::min(sorted_n, n);
  }

  // min-p: p_i / p_max = exp(l_i - l_max); the best token always stays.
  if (params_.min_p > 0.0f && n > 1) {
    const double min_p = params_.min_p;
    cand_.erase(std::remove_if(cand_.begin(), cand_.end(),
                               [&](const Candidate& c) {
                                 return c.logit != m &&
                                        std::exp(static_cast<double>(c.logit) - m) < min_p;
                               }),
                cand_.end());
    n = cand_.size();
  }

  // temperature, then one draw
  const double inv_t = 1.0 / static_cast<double>(params_.temperature);
  weight_.resize(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    weight_[i] = std::exp((static_cast<double>(cand_[i].logit) - m) * inv_t);
    total += weight_[i];
  }
  final_.clear();
  for (size_t i = 0; i < n; ++i) {
    final_.push_back({cand_[i].id, static_cast<float>(weight_[i] / total)});
  }
  const double u = uniform01() * total;
  double cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += weight_[i];
    if (u < cum) return cand_[i].id;
  }
  // Rounding left u at or above the final sum: the last token with any weight.
  for (size_t i = n; i-- > 0;) {
    if (weight_[i] > 0) return cand_[i].id;
  }
  return cand_[0].id;
}

int32_t Sampler::sample(std::span<const float> logits) {
  RS_CHECK(logits.size() == static_cast<size_t>(n_vocab_),
           "sampler: got {} logits for a vocabulary of {}", logits.size(), n_vocab_);
  std::copy(logits.begin(), logits.end(), work_.begin());
  for (const auto& [id, bias] : params_.logit_bias) {
    if (id >= 0 && id < n_vocab_) work_[id] += bias;
  }
  apply_penalties();
  const bool greedy = !(params_.temperature > 0.0f);
  if (greedy && allowed_.empty() && !params_.logprobs && params_.top_logprobs <= 0) {
    // The common case, without the candidate list: the same choice (NaN never wins, the lowest
    // id wins ties, the first +inf wins) in one pass over the vocabulary.
    int32_t best_id = 0;
    float best = kNegInf;
    for (int32_t id = 0; id < n_vocab_; ++id)
      if (work_[id] > best) {
        best = work_[id];
        best_id = id;
      }
    top_.clear();
    chosen_logprob_ = std::numeric_limits<float>::quiet_NaN();
    final_.clear();
    final_.push_back({best_id, 1.0f});
    return best_id;
  }
  build_candidates();
  compute_logprob_table();

  final_.clear();
  const int32_t chosen = greedy ? pick_greedy() : pick_random();
  if (final_.empty()) final_.push_back({chosen, 1.0f});  // greedy, or nothing had weight
  if (params_.logprobs) chosen_logprob_ = logprob_of(work_[chosen]);
  return chosen;
}

}  // namespace rs
