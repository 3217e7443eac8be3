// CPU fill/verify and the device dispatch (see kernels/fill.hpp).
#include "kernels/fill.hpp"

#include <algorithm>

#include "awsdt/config.hpp"

namespace awsdt::kernels {

namespace {

// The largest integer up to which every integer is exact in `type`; integers wrap (NCCL's and the expected
// value's alike), so they have no limit here.
std::uint64_t exact_integers(DataType type) {
  switch (type) {
    case DataType::bf16: return 256;
    case DataType::f16: return 2048;
    case DataType::f32: return 1ull << 24;
    case DataType::f64: return 1ull << 53;
    default: return ~0ull;
  }
}

std::uint32_t at_most(int nranks, std::uint64_t limit) {
  return std::uint32_t(std::min<std::uint64_t>(std::uint64_t(std::max(nranks, 1)), std::max<std::uint64_t>(limit, 1)));
}

}  // namespace

Pattern pattern_for(DataType type, bool reduction, ReduceOp op, std::uint32_t seed, int nranks) {
  Pattern p;
  p.seed = seed;
  if (reduction && (op == ReduceOp::sum || op == ReduceOp::avg)) {
    p.modulus = 4, p.minimum = 0;  // each active rank adds at most 3
    p.active_ranks = at_most(nranks, exact_integers(type) / 3);
    if (op == ReduceOp::avg && is_floating(type)) p.active_ranks = std::min(p.active_ranks, 8u);
    return p;
  }
  if (reduction && op == ReduceOp::prod) {
    // Products of 1s and 2s: powers of two, exact while they stay below the largest finite value (2^15 in
    // f16) and, for integers, convertible from the double the expectation computes in (2^62).
    p.modulus = 2, p.minimum = 1;
    p.active_ranks = at_most(nranks, type == DataType::f16 ? 15 : is_floating(type) ? 127 : 62);
    return p;
  }
  // min, max and data movement: as wide as the type holds exactly.
  switch (type) {
    case DataType::i8: p.modulus = 127; break;
    case DataType::u8: p.modulus = 255; break;
    case DataType::bf16: p.modulus = 256; break;
    case DataType::f16: p.modulus = 2048; break;
    default: p.modulus = 1u << 20; break;
  }
  return p;
}

namespace cpu {

void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank,
                  std::size_t first_index) {
  for (std::size_t i = 0; i < count; ++i) store_element(buf, i, type, pattern_value(pattern, rank, first_index + i));
}

std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect) {
  std::uint64_t wrong = 0;
  for (std::size_t i = 0; i < count; ++i) wrong += element_matches(buf, i, type, expect) ? 0 : 1;
  return wrong;
}

}  // namespace cpu

void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank,
                  std::size_t first_index, Stream& stream) {
  // A CUDA stream exists only in builds with CUDA, which alone compile kernels/cuda/.
  if constexpr (AWSDT_HAVE_CUDA)
    if (stream.device().is_cuda())
      return cuda::fill_pattern(buf, count, type, pattern, rank, first_index, stream.native_handle());
  stream.enqueue([=] { cpu::fill_pattern(buf, count, type, pattern, rank, first_index); });
}

std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect,
                               Stream& stream) {
  if constexpr (AWSDT_HAVE_CUDA)
    if (stream.device().is_cuda()) return cuda::count_mismatches(buf, count, type, expect, stream.native_handle());
  stream.synchronize();
  return cpu::count_mismatches(buf, count, type, expect);
}

}  // namespace awsdt::kernels
