// Causal grouped-query attention on CUDA in bf16, flash-attention style: scores are computed a tile at a time
// with an online softmax and never stored, so memory is O(T) per head instead of O(T²). The forward saves the
// log-sum-exp of each query row; the backward recomputes the probabilities from it. Same conventions as
// kernels/cpu/llama_attention (query head h reads kv head h / (n_heads / n_kv_heads), scale 1/sqrt(head_dim))
// and as kernels/cuda/llama_layers.hpp (host functions enqueueing on a cudaStream_t, device pointers).
#pragma once

#include "kernels/cpu/llama_attention.hpp"
#include "kernels/cuda/llama_layers.hpp"

namespace awsdt::kernels::cuda {

using cpu::AttentionShape;

/// out[B,T,NH,hd] from q[B,T,NH,hd], k and v[B,T,NKV,hd]; lse[B,NH,T] (fp32) receives each row's
/// log Σ exp(score), scores already scaled.
void attention_forward(Bf16* out, float* lse, const Bf16* q, const Bf16* k, const Bf16* v, const AttentionShape& s,
                       void* stream);
/// dq, dk, dv (written, not accumulated) from dout and the forward's out, q, k, v and lse. scratch holds
/// B·NH·T floats (rowsum(dout ⊙ out)).
void attention_backward(Bf16* dq, Bf16* dk, Bf16* dv, const Bf16* dout, const Bf16* out, const Bf16* q, const Bf16* k,
                        const Bf16* v, const float* lse, float* scratch, const AttentionShape& s, void* stream);

/// D[b, h, t] = Σ_d dout·out over the row's head_dim (B·NH·T floats): the backward's row term, softmax's
/// Jacobian applied to its own output.
void attention_output_dot(float* D, const Bf16* dout, const Bf16* out, const AttentionShape& s, void* stream);

}  // namespace awsdt::kernels::cuda
