// CUDA layers of the Llama decoder in bf16 (activations and compute weights) with fp32 accumulation, the
// device counterparts of kernels/cpu/llama_*. Host functions that enqueue on `stream` (a cudaStream_t) and
// return at once; every pointer is device memory. CUDA types never appear here, so host code includes this
// header in every build (a build without CUDA links stand-ins that throw).
//
// Conventions: N = B·T tokens; bf16 values travel as their bit patterns (Bf16). Weight gradients are fp32
// and accumulated (+=), so micro-batches add up as on the CPU. Activation gradients are written (=), except
// rmsnorm_backward's dinp, which adds to the residual-stream gradient already there.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/adamw_scalars.hpp"

namespace awsdt::kernels::cuda {

/// bfloat16 bit pattern (see util/half.hpp for the conversions).
using Bf16 = std::uint16_t;

/// out[N,C] = table[V,C] rows picked by tokens[N] (ids must lie in [0, V); the caller checks on the host).
void embedding_forward(Bf16* out, const std::int32_t* tokens, const Bf16* table, int N, int C, void* stream);
/// dtable[tokens[n],:] += dout[n,:] (fp32, atomics).
void embedding_backward(float* dtable, const std::int32_t* tokens, const Bf16* dout, int N, int C, void* stream);

/// out[N,C] = inp · rstd · weight; rstd[N] = 1/sqrt(mean(inp²) + eps) (fp32) saved for the backward.
void rmsnorm_forward(Bf16* out, float* rstd, const Bf16* inp, const Bf16* weight, int N, int C, float eps,
                     void* stream);
/// dinp[N,C] += ∂L/∂inp (bf16, read-modify-write) and dweight[C] += ∂L/∂weight (fp32), from dout[N,C].
void rmsnorm_backward(Bf16* dinp, float* dweight, const Bf16* dout, const Bf16* inp, const Bf16* weight,
                      const float* rstd, int N, int C, void* stream);

/// Rotates x[B,T,H,head_dim] in place, rotate-half convention (element i pairs with i + head_dim/2); cos and
/// sin are fp32 [T, head_dim/2] tables (nn::model_rope_table's values).
void rope_forward(Bf16* x, const float* cos, const float* sin, int B, int T, int H, int head_dim, void* stream);
/// The inverse rotation, in place: turns ∂L/∂rotated into ∂L/∂unrotated.
void rope_backward(Bf16* dx, const float* cos, const float* sin, int B, int T, int H, int head_dim, void* stream);

/// out = silu(gate) · up, element-wise.
void swiglu_forward(Bf16* out, const Bf16* gate, const Bf16* up, std::size_t count, void* stream);
/// dgate = dout · up · silu'(gate), dup = dout · silu(gate) (written).
void swiglu_backward(Bf16* dgate, Bf16* dup, const Bf16* dout, const Bf16* gate, const Bf16* up, std::size_t count,
                     void* stream);

/// out = a + b (out may alias a or b).
void residual_forward(Bf16* out, const Bf16* a, const Bf16* b, std::size_t count, void* stream);

/// Fused softmax cross-entropy, forward and backward in one pass over logits[N,V] (as llm.c's classifier):
/// losses[n] = −log softmax(logits[n])[targets[n]] in fp32 (0 where targets[n] < 0) and
/// dlogits[n,:] = dloss_scale · (softmax(logits[n]) − onehot(targets[n])) (0 where targets[n] < 0).
/// dlogits may alias logits. dloss_scale is dloss / (number of targets ≥ 0), counted by the caller.
void cross_entropy_fused(Bf16* dlogits, float* losses, const Bf16* logits, const std::int32_t* targets, int N, int V,
                         float dloss_scale, void* stream);

/// out[i] = bf16(in[i]) (round to nearest even, as util/half.hpp).
void cast_to_bf16(Bf16* out, const float* in, std::size_t count, void* stream);
/// out[i] = float(in[i]).
void cast_to_f32(float* out, const Bf16* in, std::size_t count, void* stream);

/// *acc += Σ x[i]² (fp64 accumulation; acc is device memory).
void add_sum_of_squares(double* acc, const float* x, std::size_t count, void* stream);

/// acc[i] += src[i] (a gradient shard adding what a reduce-scatter delivered, in fp32 or bf16).
void accumulate(float* acc, const float* src, std::size_t count, void* stream);
void accumulate(float* acc, const Bf16* src, std::size_t count, void* stream);

/// One AdamW update with the scalars h (decay_factor 1 for tensors that do not decay):
/// grads·grad_scale as the gradient, params = params·decay_factor, then m, v and params updated exactly as
/// nn::adamw_update does;
/// params_bf16 (may be null) receives the rounded new params, the copy the forward computes with.
void adamw_step(float* params, Bf16* params_bf16, const float* grads, float* m, float* v, std::size_t count,
                const AdamWScalars& h, void* stream);

}  // namespace awsdt::kernels::cuda
