// CUDA layers of Megatron-LM's tensor parallelism that the whole-model layers (llama_layers.hpp) do not cover: the
// vocab-parallel embedding and the vocab-parallel cross-entropy, each rank holding rows [v0, v0 + V) of the
// vocabulary. Host functions enqueueing on `stream` (a cudaStream_t), device pointers; only builds with CUDA
// compile and link them. The CPU counterparts are in train/tp_model.cpp.
#pragma once

#include <cstdint>

#include "kernels/cuda/llama_layers.hpp"

namespace awsdt::kernels::cuda {

/// out[n,:] = table[tokens[n] − v0, :] when v0 ≤ tokens[n] < v0 + V, else 0 (the group's sum is the lookup).
void vocab_embedding_forward(Bf16* out, const std::int32_t* tokens, const Bf16* table, int N, int C, int v0, int V,
                             void* stream);
/// dtable[tokens[n] − v0, :] += dout[n, :] for the tokens in [v0, v0 + V) (fp32, atomics).
void vocab_embedding_backward(float* dtable, const std::int32_t* tokens, const Bf16* dout, int N, int C, int v0, int V,
                              void* stream);

/// The vocab-parallel cross-entropy (Megatron's _VocabParallelCrossEntropy) in three kernels, with two
/// all-reduces between them that the caller runs over the TP group:
/// 1. row_max[n] = max of this rank's logits[n, 0..V) (then all-reduced with max);
void vocab_ce_row_max(float* row_max, const Bf16* logits, int N, int V, void* stream);
/// 2. stats[n] = Σ exp(logits[n,:] − row_max[n]) over this rank's columns, stats[N + n] = the target's logit
///    where this rank holds the target (targets[n] − v0 in [0, V)), else 0 (then all-reduced with sum);
void vocab_ce_stats(float* stats, const Bf16* logits, const std::int32_t* targets, const float* row_max, int N, int V,
                    int v0, void* stream);
/// 3. losses[n] = log stats[n] + row_max[n] − stats[N + n] (0 where targets[n] < 0), and dlogits[n, i] =
///    dloss_scale · (exp(logits[n,i] − row_max[n]) / stats[n] − [i == targets[n] − v0]) (0 where targets[n] < 0);
///    dlogits may alias logits.
void vocab_ce_finish(Bf16* dlogits, float* losses, const Bf16* logits, const std::int32_t* targets,
                     const float* row_max, const float* stats, int N, int V, int v0, float dloss_scale, void* stream);

}  // namespace awsdt::kernels::cuda
