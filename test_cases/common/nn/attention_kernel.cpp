// The choice of CUDA attention kernels (see attention_kernel.hpp).
#include "nn/attention_kernel.hpp"

#include <string>

#include "kernels/cuda/chunked_attention.hpp"
#include "util/error.hpp"

namespace awsdt::nn {

bool runs_chunked_attention(AttentionKernel kernel, const ModelConfig& config) {
  const bool fits =
      kernels::cuda::chunked_attention_supports({1, 1, config.n_heads, config.n_kv_heads, config.head_dim()});
  if (kernel == AttentionKernel::chunked && !fits)
    throw UsageError("--attention chunked needs head_dim a multiple of 8 (got " + std::to_string(config.head_dim()) +
                     "); use auto or flash");
  return kernel != AttentionKernel::flash && fits;
}

}  // namespace awsdt::nn
