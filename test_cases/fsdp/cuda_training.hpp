// awsdt-fsdp --device cuda: training on one GPU with the CUDA engine (nn::CudaModel: bf16 compute, fp32 master
// weights and AdamW), reporting the same step lines and result document as the CPU path, with MFU against the
// GPU's peak bf16 FLOP/s from the instance catalog. One process, one GPU: sharding over NCCL is not built yet.
#pragma once

#include "options.hpp"

namespace awsdt::fsdp {

/// Trains plan.model on GPU plan.cuda_device as the options say; returns the process exit status.
int run_on_cuda(const Options& options, const Plan& plan, int argc, char** argv);

}  // namespace awsdt::fsdp
