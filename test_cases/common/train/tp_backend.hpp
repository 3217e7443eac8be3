// The tensor-parallel CPU UnitBackend: TpModel's slices of every unit, so that the data-parallel engine
// (fsdp_engine.hpp, over the data-parallel groups) runs DDP or the distributed optimizer on them unchanged.
#pragma once

#include <memory>

#include "comm/communicator.hpp"
#include "nn/config.hpp"
#include "train/tp_overlap.hpp"
#include "train/unit_backend.hpp"

namespace awsdt::train {

/// config's model split over the tensor-parallel group tp (sequence_parallel: Megatron's SP; recompute: activation
/// recomputation per block, as --recompute; overlap: --tp-comm-overlap).
std::unique_ptr<UnitBackend> make_tp_backend(const nn::ModelConfig& config, Communicator& tp, bool sequence_parallel,
                                             bool recompute, const TpCommOverlap& overlap = {});

}  // namespace awsdt::train
