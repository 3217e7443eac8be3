// The `layer` pattern: one transformer layer's tensor-parallel GEMMs with sequence parallelism, as Megatron-LM
// schedules them: forward qkv (ag_gemm), proj (gemm_rs), fc1 (ag_gemm), fc2 (gemm_rs); backward the data
// gradients in reverse (fc2 and proj through ag_gemm of the output gradient, fc1 and qkv through gemm_rs) and
// each weight gradient (a local GEMM over the full sequence: the gathered input or output gradient, which the
// ag_gemm of the same layer leaves gathered). Attention, norms and activations are not computed: each GEMM takes
// its own deterministic operands, so every one is checked against float64 on its own.
#pragma once

#include <vector>

#include "bench.hpp"
#include "shapes.hpp"

namespace awsdt::megatron {

/// One row per method: the whole layer's time against the sums of its GEMMs alone and collectives alone.
std::vector<Row> measure_layer(Bench& bench, const LayerShape& layer);

}  // namespace awsdt::megatron
