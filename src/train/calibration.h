// Confidence calibration: temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural
// Networks"). One scalar T divides every logit; fitted on held-out data it turns the arg-max
// probability into a confidence that matches how often the prediction is right, without changing
// which class wins.
#pragma once

#include <cstdint>
#include <span>

namespace rs::train {

// z <- softmax(z * inv_temperature), computed stably.
void softmax_inplace(float* z, uint32_t k, float inv_temperature);

// The T in [0.02, 50] minimising the mean negative log-likelihood of softmax(logits / T) for
// the labels y; logits is [y.size()][k]. Golden-section search on log T (the NLL is unimodal
// in T for fixed logits).
double fit_temperature(std::span<const float> logits, std::span<const int> y, uint32_t k);

// Mean negative log-likelihood at temperature T.
double mean_nll(std::span<const float> logits, std::span<const int> y, uint32_t k, double t);

}  // namespace rs::train
