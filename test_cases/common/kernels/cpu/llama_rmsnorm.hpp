// RMSNorm of the Llama decoder: y = x / sqrt(mean(x²) + eps) · w, per row of C values.
// Like every llama_* backward, the backward accumulates (+=) into its gradient outputs.
#pragma once

namespace awsdt::kernels::cpu {

/// out[N,C] = inp · rstd · weight[C]; rstd[N] (1/sqrt(mean(x²)+eps)) is saved for the backward.
template <typename T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, double eps);
/// dinp[N,C] += ∂L/∂inp and dweight[C] += ∂L/∂weight, from dout[N,C] and the forward's inp and rstd.
template <typename T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, const T* rstd, int N, int C);

}  // namespace awsdt::kernels::cpu
