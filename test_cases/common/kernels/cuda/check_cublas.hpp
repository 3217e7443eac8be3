// AWSDT_CHECK_CUBLAS(call): a cuBLAS or cuBLASLt call that fails throws awsdt::Error naming the call and status.
#pragma once

#include <string>

#include "util/error.hpp"

#define AWSDT_CHECK_CUBLAS(call)                                                                                      \
  do {                                                                                                                \
    const auto awsdt_st_ = (call);                                                                                    \
    if (awsdt_st_ != 0) /* CUBLAS_STATUS_SUCCESS in both libraries */                                                 \
      throw ::awsdt::Error(std::string(#call) + " failed: cuBLAS status " + std::to_string(int(awsdt_st_)), __FILE__, \
                           __LINE__);                                                                                 \
  } while (0)
