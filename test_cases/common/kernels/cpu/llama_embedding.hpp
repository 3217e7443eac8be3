// Token embedding lookup of the Llama decoder: out[n,:] = table[tokens[n],:].
// Like every llama_* backward, the backward accumulates (+=) into its gradient outputs.
#pragma once

#include <cstdint>

namespace awsdt::kernels::cpu {

/// out[N,C] = table[V,C] rows picked by tokens[N]; throws awsdt::Error for a token outside [0, V).
template <typename T>
void embedding_forward(T* out, const std::int32_t* tokens, const T* table, int N, int C, int V);
/// dtable[tokens[n],:] += dout[n,:].
template <typename T>
void embedding_backward(T* dtable, const std::int32_t* tokens, const T* dout, int N, int C);

}  // namespace awsdt::kernels::cpu
