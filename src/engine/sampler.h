// Token sampling: turns one row of logits into a token id.
//
// Pipeline of sample(), in this order (the llama.cpp default chain, without DRY/typical/XTC):
//   1. logit bias (SamplingParams::logit_bias);
//   2. penalties over the last `repeat_last_n` accepted tokens: repetition (llama.cpp style:
//      a positive logit is divided by repeat_penalty, a negative one multiplied) and
//      frequency/presence (OpenAI formula: logit -= count * frequency + (count > 0) * presence);
//   3. the candidates: every token, or the allowed set (set_allowed_tokens); a NaN logit becomes
//      -inf, and if some logits are +inf those tokens share all the probability;
//   4. log-probabilities for the OpenAI `logprobs` fields: log-softmax of the step-3 logits over
//      the candidates, before any truncation and before the temperature;
//   5. temperature <= 0: greedy (argmax, lowest id on ties) and stop here;
//   6. top-k, top-p (nucleus, on the softmax of the top-k survivors), min-p, then temperature;
//   7. one draw from what is left with a seeded std::mt19937_64.
//
// Reproducibility: std::mt19937_64 is fully specified by the C++ standard and the uniform number
// is built from its raw 64-bit output here (not with std::uniform_real_distribution, whose
// algorithm is implementation-defined), and every sort has a total order (logit, then id), so
// the same seed, logits and accepted tokens give the same tokens on every platform (up to
// last-bit differences of expf between C libraries).
//
// After the first call, sample() and accept() do not allocate: every buffer is sized for the
// vocabulary up front and reused.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace rs {

struct SamplingParams {
  // Means "draw a seed from std::random_device when the Sampler is built"; Sampler::seed()
  // then tells which one was used.
  static constexpr uint64_t kRandomSeed = std::numeric_limits<uint64_t>::max();

  float temperature = 0.8f;     // <= 0: greedy (argmax, lowest id on ties)
  int top_k = 40;               // <= 0 or >= vocabulary: off
  float top_p = 0.95f;          // >= 1: off; keeps the smallest set with cumulative p >= top_p
  float min_p = 0.05f;          // <= 0: off; drops tokens with p < min_p * p_max
  float repeat_penalty = 1.0f;  // 1: off
  int repeat_last_n = 64;       // penalty window in accepted tokens; 0: no penalties, -1: all
                                // (at most 2^20; use -1 beyond)
  float frequency_penalty = 0;  // OpenAI: subtracted once per occurrence in the window
  float presence_penalty = 0;   // OpenAI: subtracted once if the token occurs in the window
  uint64_t seed = kRandomSeed;

  // Added to the logit of a token before everything else (OpenAI logit_bias; -inf bans).
  // Ids outside the vocabulary are ignored.
  std::unordered_map<int32_t, float> logit_bias;

  // OpenAI `logprobs` / `top_logprobs`: compute the chosen token's log-probability, and that of
  // the `top_logprobs` most likely tokens (clamped to the vocabulary size).
  bool logprobs = false;
  int top_logprobs = 0;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
};

struct TokenProb {
  int32_t token = 0;
  float prob = 0;
};

class Sampler {
 public:
  // n_vocab: the number of logits sample() receives. Throws rs::Error when n_vocab <= 0.
  Sampler(SamplingParams params, int n_vocab);

  // Picks a token from one row of logits (size n_vocab, else rs::Error). Does not accept it:
  // call accept() with the token that is actually appended (the caller may override it).
  // Always returns an id in [0, n_vocab) that is allowed (see set_allowed_tokens), even when
  // every logit is NaN or -inf (then the lowest candidate id).
  int32_t sample(std::span<const float> logits);

  // Records a token in the penalty window (prompt tokens too, if they should count).
  void accept(int32_t token);

  // Forgets the accepted tokens and restarts the random sequence from the seed, so the sampler
  // behaves as freshly built. Keeps the parameters and the allowed-token set.
  void reset();

  // Restricts the candidates to `tokens` (label-constrained classification, grammars) until
  // clear_allowed_tokens(). Duplicates are ignored; an empty set or an id outside the
  // vocabulary is an rs::Error. Log-probabilities are then normalized over the allowed set.
  void set_allowed_tokens(std::span<const int32_t> tokens);
  void clear_allowed_tokens();

  // Results of the last sample() call. logprob(): the chosen token's log-probability (NaN when
  // params.logprobs is false); top_logprobs(): the params.top_logprobs most likely candidates,
  // best first (ties: lower id first); candidates(): the distribution the token was drawn from,
  // after truncation and temperature, in no particular order (one entry with p = 1 when greedy
  // or when no candidate had a finite logit).
  float logprob() const { return chosen_logprob_; }
  std::span<const TokenLogprob> top_logprobs() const { return top_; }
  std::span<const TokenProb> candidates() const { return final_; }

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }
  int n_vocab() const { return n_vocab_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };

  void apply_penalties();
  void build_candidates();
  void compute_logprob_table();  // logsumexp_ and top_, before truncation
  float logprob_of(float logit) const;
  int32_t pick_greedy() const;
  int32_t pick_random();
  double uniform01();  // [0, 1) from 53 random bits

  SamplingParams params_;
  int n_vocab_;
  uint64_t seed_;
  std::mt19937_64 rng_;

  // Penalty window: a ring of the last repeat_last_n accepted tokens (unused when -1), the count
  // of each id in it, and the distinct ids present (with each one's index in `present_`).
  std::vector<int32_t> ring_;
  size_t ring_head_ = 0, ring_size_ = 0;
  std::vector<int32_t> count_;
  std::vector<int32_t> present_;
  std::vector<int32_t> present_pos_;

  std::vector<int32_t> allowed_;  // sorted, unique; empty: every token

  std::vector<float> work_;  // logits after bias and penalties
  std::vector<Candidate> cand_;
  std::vector<double> weight_;  // unnormalized probabilities of cand_ (sampling path)
  std::vector<TokenLogprob> top_;
  std::vector<TokenProb> final_;
  float chosen_logprob_ = std::numeric_limits<float>::quiet_NaN();
  double logsumexp_ = 0;
};

}  // namespace rs
