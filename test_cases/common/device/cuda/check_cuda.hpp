// AWSDT_CHECK_CUDA: turns a cudaError_t into an awsdt::Error with the CUDA error name. Include only from
// translation units that already include the CUDA runtime. No fmt here: nvcc cannot compile its consteval checks.
#pragma once

#include <string>

#include "util/error.hpp"

#define AWSDT_CHECK_CUDA(call)                                                                                         \
  do {                                                                                                                 \
    cudaError_t awsdt_rc_ = (call);                                                                                    \
    if (awsdt_rc_ != cudaSuccess)                                                                                      \
      throw ::awsdt::Error(                                                                                            \
          std::string(#call) + " failed: " + cudaGetErrorName(awsdt_rc_) + " (" + cudaGetErrorString(awsdt_rc_) + ")", \
          __FILE__, __LINE__);                                                                                         \
  } while (0)
