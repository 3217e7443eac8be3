// The collectives defined in this folder (one file each), and what their definitions share.
#pragma once

#include <algorithm>
#include <cmath>

#include "collective.hpp"

namespace awsdt::collectives {

extern const Collective kAllReduce, kAllGather, kReduceScatter, kAllToAll, kBroadcast, kReduce, kSendRecv;

/// avg is the one reduction that cannot be exact in floating point (NCCL pre-multiplies each input by 1/n);
/// allow one rounding per rank that contributes a non-zero term (at most 8: see pattern_for), relative to the
/// expected value.
inline double avg_tolerance(const Params& p, const kernels::Pattern& pattern) {
  if (p.op != ReduceOp::avg || !is_floating(p.type)) return 0.0;
  int mantissa_bits = p.type == DataType::f64 ? 52 : p.type == DataType::f32 ? 23 : p.type == DataType::f16 ? 10 : 7;
  const double terms = std::min<double>(p.nranks, pattern.active_ranks);
  return terms * std::ldexp(1.0, -mantissa_bits);
}

}  // namespace awsdt::collectives
