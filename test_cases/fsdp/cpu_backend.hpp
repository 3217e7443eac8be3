// The CPU UnitBackend: nn::Model in fp32, element-wise loops on OpenMP threads (or on a CPU stream's thread).
#pragma once

#include <memory>

#include "nn/config.hpp"
#include "unit_backend.hpp"

namespace awsdt::fsdp {

/// A backend running config's model on this process's CPU threads, with activation recomputation if asked.
std::unique_ptr<UnitBackend> make_cpu_backend(const nn::ModelConfig& config, bool recompute);

}  // namespace awsdt::fsdp
