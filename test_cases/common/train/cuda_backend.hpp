// The CUDA UnitBackend: nn::CudaModel (bf16 compute) on one GPU, element-wise work as kernels on a stream; whole
// units (awsdt-fsdp) or one tensor-parallel rank's slices of them (awsdt-megatron train).
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
/// The same model split over the tensor-parallel group tp (its NCCL communicator on `device`) as Megatron-LM splits
/// it (train/tp_layout.hpp; sequence_parallel: Megatron's SP): the CUDA counterpart of make_tp_backend. At TP 1 it
/// is make_cuda_backend's model. Key/value heads must split (tp divides them).
std::unique_ptr<UnitBackend> make_cuda_tp_backend(const nn::ModelConfig& config, Communicator& tp,
                                                  bool sequence_parallel, int device, bool recompute,
                                                  nn::AttentionKernel attention = nn::AttentionKernel::automatic);

}  // namespace awsdt::train
