// Counter-based normal sampling (splitmix64 hashing + Box-Muller) and unit initialisation.
#include "nn/init.hpp"

#include <cmath>
#include <cstdint>
#include <numbers>

namespace awsdt::nn {
namespace {

// splitmix64's finaliser: a bijective 64-bit mix.
std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in (0, 1) from 53 hashed bits.
double uniform_open(std::uint64_t key, std::uint64_t counter) {
  std::uint64_t bits = mix64(key ^ mix64(counter)) >> 11;
  return (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
}

}  // namespace

double normal_sample(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  const std::uint64_t key = mix64(mix64(seed) ^ (stream * 0xD1B54A32D192ED03ull));
  double u1 = uniform_open(key, 2 * index);
  double u2 = uniform_open(key, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void init_unit(float* buffer, const UnitLayout& layout, std::uint64_t seed, std::uint64_t stream, double std) {
  // Every value is a function of its index alone, so the threads split the work without changing a bit (large
  // presets draw billions of values: on one thread, start-up would take tens of seconds).
  for (const TensorSlot& t : layout.tensors) {
    const std::int64_t n = static_cast<std::int64_t>(t.size());
    const bool ones = t.cols == 1;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const std::size_t at = t.offset + static_cast<std::size_t>(i);
      buffer[at] = ones ? 1.0f : static_cast<float>(std * normal_sample(seed, stream, at));
    }
  }
}

}  // namespace awsdt::nn
