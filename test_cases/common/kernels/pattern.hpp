// Deterministic collective test data, shared by the CPU and CUDA fill/verify kernels.
// Rank r's element i is a small integer chosen so that every reduction of it is exact in every DataType
// (sums of 0..3, products of 1..2), which makes the expected result of any collective exactly predictable.
// Exact at any scale: beyond the ranks whose sum a type still holds exactly (85 for bf16's 256), the other
// ranks contribute the identity (0 to a sum, 1 to a product), so a healthy 1,024-GPU run reports no #wrong.
#pragma once

#include <cstddef>
#include <cstdint>

#include "comm/dtype.hpp"
#include "util/half.hpp"

namespace awsdt::kernels {

/// v(r, i) = minimum + (i*31 + r*17 + seed) mod modulus for r < active_ranks, minimum for the others.
struct Pattern {
  std::uint32_t modulus = 4;
  std::uint32_t minimum = 0;
  std::uint32_t seed = 0;
  std::uint32_t active_ranks = 0xffffffffu;
};

/// What element idx of an output should hold.
/// Reduce: op over ranks 0..nranks-1 of v(r, source_base + idx).
/// Gather: v(source rank, source_base + idx % block) where the source rank is idx / block (block > 0) or
///         fixed_rank (block == 0, and then the index is source_base + idx).
struct Expectation {
  bool reduce = false;
  ReduceOp op = ReduceOp::sum;
  int nranks = 1;
  std::size_t source_base = 0;
  std::size_t block = 0;
  int fixed_rank = 0;
  Pattern pattern;
  double rel_tolerance = 0;  ///< 0: exact
};

/// The pattern that keeps `op` over `nranks` ranks exact in `type` (data-movement collectives use a wide range
/// to catch misplaced blocks). avg adds at most 8 non-zero terms, so that its tolerance stays tight.
Pattern pattern_for(DataType type, bool reduction, ReduceOp op, std::uint32_t seed, int nranks);

AWSDT_HD inline double pattern_value(const Pattern& p, int rank, std::size_t index) {
  if (std::uint32_t(rank) >= p.active_ranks) return double(p.minimum);
  return double(p.minimum + std::uint32_t((index * 31u + std::size_t(rank) * 17u + p.seed) % p.modulus));
}

AWSDT_HD inline double expected_value(const Expectation& e, std::size_t idx) {
  if (!e.reduce) {
    int src = e.block ? int(idx / e.block) : e.fixed_rank;
    std::size_t i = e.source_base + (e.block ? idx % e.block : idx);
    return pattern_value(e.pattern, src, i);
  }
  double acc = pattern_value(e.pattern, 0, e.source_base + idx);
  for (int r = 1; r < e.nranks; ++r) {
    double v = pattern_value(e.pattern, r, e.source_base + idx);
    switch (e.op) {
      case ReduceOp::sum:
      case ReduceOp::avg: acc += v; break;
      case ReduceOp::prod: acc *= v; break;
      case ReduceOp::min: acc = v < acc ? v : acc; break;
      case ReduceOp::max: acc = v > acc ? v : acc; break;
    }
  }
  return e.op == ReduceOp::avg ? acc / e.nranks : acc;
}

/// Stores `v` as element `idx` of a `type` array (integers truncate toward zero, as NCCL's avg does).
AWSDT_HD inline void store_element(void* buf, std::size_t idx, DataType type, double v) {
  switch (type) {
    case DataType::f32: static_cast<float*>(buf)[idx] = float(v); break;
    case DataType::f64: static_cast<double*>(buf)[idx] = v; break;
    case DataType::f16: static_cast<std::uint16_t*>(buf)[idx] = float_to_half(float(v)); break;
    case DataType::bf16: static_cast<std::uint16_t*>(buf)[idx] = float_to_bf16(float(v)); break;
    case DataType::i8: static_cast<std::int8_t*>(buf)[idx] = std::int8_t(std::int64_t(v)); break;
    case DataType::u8: static_cast<std::uint8_t*>(buf)[idx] = std::uint8_t(std::int64_t(v)); break;
    case DataType::i32: static_cast<std::int32_t*>(buf)[idx] = std::int32_t(std::int64_t(v)); break;
    case DataType::u32: static_cast<std::uint32_t*>(buf)[idx] = std::uint32_t(std::int64_t(v)); break;
    case DataType::i64: static_cast<std::int64_t*>(buf)[idx] = std::int64_t(v); break;
    case DataType::u64: static_cast<std::uint64_t*>(buf)[idx] = std::uint64_t(std::int64_t(v)); break;
  }
}

AWSDT_HD inline double load_element(const void* buf, std::size_t idx, DataType type) {
  switch (type) {
    case DataType::f32: return static_cast<const float*>(buf)[idx];
    case DataType::f64: return static_cast<const double*>(buf)[idx];
    case DataType::f16: return half_to_float(static_cast<const std::uint16_t*>(buf)[idx]);
    case DataType::bf16: return bf16_to_float(static_cast<const std::uint16_t*>(buf)[idx]);
    case DataType::i8: return static_cast<const std::int8_t*>(buf)[idx];
    case DataType::u8: return static_cast<const std::uint8_t*>(buf)[idx];
    case DataType::i32: return static_cast<const std::int32_t*>(buf)[idx];
    case DataType::u32: return static_cast<const std::uint32_t*>(buf)[idx];
    case DataType::i64: return double(static_cast<const std::int64_t*>(buf)[idx]);
    case DataType::u64: return double(static_cast<const std::uint64_t*>(buf)[idx]);
  }
  return 0;
}

/// Whether element idx of `buf` matches the expectation (the expected value rounded to `type` first).
AWSDT_HD inline bool element_matches(const void* buf, std::size_t idx, DataType type, const Expectation& e) {
  double want_raw = expected_value(e, idx);
  // Round the expectation through the element type exactly as a correct result would be stored.
  unsigned char slot[8];
  store_element(slot, 0, type, want_raw);
  double want = load_element(slot, 0, type);
  double got = load_element(buf, idx, type);
  if (got == want) return true;
  double diff = got > want ? got - want : want - got;
  double mag = want < 0 ? -want : want;
  return e.rel_tolerance > 0 && diff <= e.rel_tolerance * mag;
}

}  // namespace awsdt::kernels
