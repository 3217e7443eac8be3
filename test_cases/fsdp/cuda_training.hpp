// awsdt-fsdp --device cuda: training with the CUDA engine (nn::CudaModel: bf16 compute, fp32 master weights and
// AdamW), one GPU per rank, reporting the same step lines and result document as the CPU path, with MFU against
// the GPU's peak bf16 FLOP/s from the instance catalog. Every run goes through NCCL (one rank included): the
// ranks replicate the model and all-reduce their gradients (DDP, --sharding none); sharded GPU training is not
// built yet.
#pragma once

#include "options.hpp"

namespace awsdt::fsdp {

/// Trains on the GPUs as the options say (launched as one process, or one per GPU by mpirun, srun or torchrun);
/// returns the process exit status.
int run_on_cuda(const Options& options, int argc, char** argv);

}  // namespace awsdt::fsdp
