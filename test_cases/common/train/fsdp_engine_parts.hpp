// FsdpEngine's private parts, shared by its two translation units (fsdp_engine.cpp: the step and its
// communication; engine_checkpoint.cpp: checkpoint I/O). Not for other includers.
#pragma once

#include <vector>

#include "device/device.hpp"
#include "train/fsdp_engine.hpp"
#include "nn/optimizer.hpp"

namespace awsdt::train {

// One unit: its shard of params and grads (fp32), AdamW moments, and which gather / grad buffers it uses.
struct FsdpEngine::Unit {
  UnitShardLayout layout;
  std::vector<nn::DecaySegment> segments;  // of the shard
  Buffer params, grads, m, v;
  int param_slot = -1, grad_slot = -1;
  bool gathered = false;
};

// A full-unit buffer (gathered params in the compute dtype, or full fp32 grads) and the event marking its last
// communication; `wire` is the copy that travels when the communication dtype differs from buf's.
struct FsdpEngine::Slot {
  Buffer buf, wire;
  Event ready;
};

}  // namespace awsdt::train
