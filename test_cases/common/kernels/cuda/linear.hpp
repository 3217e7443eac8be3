// Bias-free linear layers on CUDA through cuBLASLt: bf16 inputs and weights (stored [out, in] as Hugging Face
// stores them), fp32 accumulation, bf16 activations out and fp32 weight gradients. The counterpart of
// kernels/cpu/llama_linear; host functions enqueueing on a cudaStream_t, device pointers.
#pragma once

#include <cstddef>
#include <memory>

#include "kernels/cuda/llama_layers.hpp"
#include "kernels/input_grad.hpp"

namespace awsdt::kernels::cuda {

/// A cuBLASLt handle and its workspace, for one device; create one per stream that runs GEMMs.
class LinearContext {
 public:
  LinearContext();
  ~LinearContext();
  LinearContext(const LinearContext&) = delete;
  LinearContext& operator=(const LinearContext&) = delete;

  /// out[N,OC] = inp[N,IC] · weight[OC,IC]ᵀ.
  void forward(Bf16* out, const Bf16* inp, const Bf16* weight, int N, int IC, int OC, void* stream);
  /// dinp[N,IC] (overwritten or accumulated onto, by dinp_mode; null to skip) = dout · weight, and
  /// dweight[OC,IC] += doutᵀ · inp.
  void backward(Bf16* dinp, InputGrad dinp_mode, float* dweight, const Bf16* dout, const Bf16* inp, const Bf16* weight,
                int N, int IC, int OC, void* stream);

  /// GPU memory each context holds for cuBLASLt's workspace.
  static std::size_t workspace_bytes();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace awsdt::kernels::cuda
