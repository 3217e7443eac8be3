// `awsdt-megatron gemm`: tensor-parallel GEMM + communication, every method of every pattern asked for, on
// every shape asked for; prints the table, writes the result document and CSV, and returns the exit status.
#pragma once

#include "options.hpp"

namespace awsdt::megatron {

int run_gemm(const GemmOptions& options, int argc, char** argv);

}  // namespace awsdt::megatron
