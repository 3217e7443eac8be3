// Cross-entropy loss of the Llama LM head, mean over tokens, with the softmax fused into the backward.
// Targets below zero (Hugging Face uses -100) are ignored and excluded from the mean.
// Like every llama_* backward, the backward accumulates (+=) into its gradient outputs unless told to overwrite.
#pragma once

#include <cstdint>

#include "kernels/input_grad.hpp"

namespace awsdt::kernels::cpu {

/// probs[N,V] = softmax(logits) (probs may alias logits); returns the mean of −log probs[n, targets[n]] over
/// the targets ≥ 0 (0 when there are none); throws awsdt::Error for a target ≥ V.
template <typename T>
T cross_entropy_forward(T* probs, const T* logits, const std::int32_t* targets, int N, int V);
/// dlogits[N,V] += dloss · (probs − onehot(targets)) / (number of targets ≥ 0), nothing for an ignored row (= with
/// InputGrad::overwrite, ignored rows set to 0).
template <typename T>
void cross_entropy_backward(T* dlogits, const T* probs, const std::int32_t* targets, int N, int V, T dloss,
                            InputGrad mode = InputGrad::accumulate);

}  // namespace awsdt::kernels::cpu
