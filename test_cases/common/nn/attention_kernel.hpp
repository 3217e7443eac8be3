// Which CUDA attention kernels the CUDA engine runs: a choice the flags, the memory estimate and the result
// document make in every build, so it lives apart from the CUDA model itself.
#pragma once

#include "nn/config.hpp"

namespace awsdt::nn {

/// The CUDA attention kernels (kernels/cuda/chunked_attention.hpp, kernels/cuda/llama_attention.hpp).
enum class AttentionKernel { automatic, chunked, flash };
/// Whether `kernel` means the chunked tensor-core attention for `config`: automatic does wherever head_dim is a
/// multiple of 8 (every preset), flash never; chunked where it cannot run throws awsdt::UsageError.
bool runs_chunked_attention(AttentionKernel kernel, const ModelConfig& config);

}  // namespace awsdt::nn
