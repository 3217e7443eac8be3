// The scalars of one AdamW update, shared by the CPU update (nn::adamw_update) and the CUDA kernel
// (kernels::cuda::adamw_step), so both devices apply the same rounded values.
#pragma once

namespace awsdt::kernels {

/// One AdamW update, the t-th (t ≥ 1), in float.
struct AdamWScalars {
  float lr = 0, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float bc1 = 1, bc2 = 1;  ///< bias corrections 1 − β1ᵗ, 1 − β2ᵗ
  float decay_factor = 1;  ///< 1 − lr·weight_decay for decayed tensors (1: no decay)
  float grad_scale = 1;    ///< the gradients are multiplied by this first: the clipping coefficient, times
                           ///< 1/(ranks·micro-batches) where the gradients are sums (FSDP); 1: none
};

}  // namespace awsdt::kernels
