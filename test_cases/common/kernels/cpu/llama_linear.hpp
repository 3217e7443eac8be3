// Bias-free linear layer of the Llama decoder: y = x Wᵀ with W stored [out, in] as Hugging Face stores it.
// Like every llama_* backward, the backward accumulates (+=) into its gradient outputs (dinp can be overwritten
// instead: InputGrad).
#pragma once

#include "kernels/input_grad.hpp"

namespace awsdt::kernels::cpu {

/// out[N,OC] = inp[N,IC] · weight[OC,IC]ᵀ (cblas_sgemm for float).
template <typename T>
void linear_forward(T* out, const T* inp, const T* weight, int N, int IC, int OC);
/// dinp[N,IC] += dout · weight (= with InputGrad::overwrite, which spares the caller zeroing it) and
/// dweight[OC,IC] += doutᵀ · inp; dinp may be null to skip it.
template <typename T>
void linear_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, int N, int IC, int OC,
                     InputGrad mode = InputGrad::accumulate);

}  // namespace awsdt::kernels::cpu
