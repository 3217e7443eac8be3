// Causal grouped-query attention of the Llama decoder: per query head, softmax(Q Kᵀ / sqrt(head_dim)) V,
// where query head h reads kv head h / (n_heads / n_kv_heads), as Hugging Face's repeat_kv does.
// Like every llama_* backward, the backward accumulates (+=) into its gradient outputs.
#pragma once

namespace awsdt::kernels::cpu {

/// Shapes of one attention call.
struct AttentionShape {
  int B = 0;           ///< batch
  int T = 0;           ///< sequence length
  int n_heads = 0;     ///< query heads
  int n_kv_heads = 0;  ///< key/value heads (divides n_heads)
  int head_dim = 0;    ///< channels per head
};

/// out[B,T,NH,hd] from q[B,T,NH,hd], k and v[B,T,NKV,hd]; att[B,NH,T,T] receives the softmax probabilities
/// (zero above the diagonal), saved for the backward.
template <typename T>
void attention_forward(T* out, T* att, const T* q, const T* k, const T* v, const AttentionShape& s);
/// dq, dk, dv += gradients from dout and the forward's q, k, v and att.
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* att,
                        const AttentionShape& s);

}  // namespace awsdt::kernels::cpu
