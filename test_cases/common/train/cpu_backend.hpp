// The CPU UnitBackend: nn::Model in fp32, element-wise loops on OpenMP threads (or on a CPU stream's thread).
#pragma once

#include <memory>

#include "nn/config.hpp"
#include "train/unit_backend.hpp"

namespace awsdt::train {

/// A backend running config's model on this process's CPU threads, with activation recomputation if asked.
/// compute = bf16 is a test hook: the engine then hands the model bf16 params, as it does on GPUs, and the
/// backend widens them to compute in fp32, so the GPU's gather-and-convert path runs under MPI on CPUs.
std::unique_ptr<UnitBackend> make_cpu_backend(const nn::ModelConfig& config, bool recompute,
                                              DataType compute = DataType::f32);

}  // namespace awsdt::train
