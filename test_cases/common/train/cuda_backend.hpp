// The CUDA UnitBackend: nn::CudaModel (bf16 compute) on one GPU, element-wise work as kernels on a stream.
#pragma once

#include <memory>

#include "nn/config.hpp"
#include "nn/attention_kernel.hpp"
#include "train/unit_backend.hpp"

namespace awsdt::train {

/// A backend running config's model on CUDA device `device`, with activation recomputation if asked (throws
/// UsageError when the device is not visible). Compiled only in builds with CUDA.
std::unique_ptr<UnitBackend> make_cuda_backend(const nn::ModelConfig& config, int device, bool recompute,
                                               nn::AttentionKernel attention = nn::AttentionKernel::automatic);

}  // namespace awsdt::train
