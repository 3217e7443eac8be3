// Deterministic parameter initialisation: a counter-based normal generator (element i of a stream is a pure
// function of seed, stream and i), so a rank holding only a shard of a unit can draw exactly its slice.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nn/layout.hpp"

namespace awsdt::nn {

/// Standard normal sample number `index` of stream (seed, stream), by Box-Muller on two hashed uniforms.
double normal_sample(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);
/// Fills a unit's buffer: norm weights (cols == 1) with 1, matrices with N(0, std²) drawn at each element's
/// offset in the unit from stream (seed, stream).
void init_unit(float* buffer, const UnitLayout& layout, std::uint64_t seed, std::uint64_t stream, double std);

}  // namespace awsdt::nn
