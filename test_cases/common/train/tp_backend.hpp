// The tensor-parallel CPU UnitBackend: TpModel's slices of every unit, so that the data-parallel engine
// (fsdp_engine.hpp, over the data-parallel groups) runs DDP or the distributed optimizer on them unchanged.
#pragma once

#include <memory>
#include <vector>

#include "comm/communicator.hpp"
#include "nn/config.hpp"
#include "train/tp_overlap.hpp"
#include "train/unit_backend.hpp"

namespace awsdt::train {

/// config's model split over the tensor-parallel group tp (sequence_parallel: Megatron's SP; recompute: activation
/// recomputation per block, as --recompute; overlap: --tp-comm-overlap).
/// UnitBackend::consolidate for a backend holding tp_slice(config, tp.size(), tp.rank()) of every unit: every
/// rank's slices (local, unit order) all-gathered over tp (staged through device memory when tp is on a GPU) and
/// put back into the whole units on the group's first rank (empty elsewhere, and for an empty `local`).
std::vector<float> tp_consolidate(const nn::ModelConfig& config, Communicator& tp, std::vector<float> local);

std::unique_ptr<UnitBackend> make_tp_backend(const nn::ModelConfig& config, Communicator& tp, bool sequence_parallel,
                                             bool recompute, const TpCommOverlap& overlap = {});

}  // namespace awsdt::train
