// Cross-rank reduction of a per-rank measurement: min/mean/max and which rank (and host) was slowest, the
// first thing users look for when hunting stragglers.
#pragma once

#include <string>

#include "comm/communicator.hpp"

namespace awsdt {

struct RankSpread {
  double min = 0, mean = 0, max = 0;
  int slowest_rank = 0;  ///< rank with the largest value
  std::string slowest_host;
  int fastest_rank = 0;
  /// (max - min) / min: how much ranks disagree.
  double imbalance() const { return min > 0 ? (max - min) / min : 0.0; }
};

/// Gathers `value` from every rank of `comm`; every rank gets the same answer.
RankSpread reduce_across_ranks(Communicator& comm, double value);

}  // namespace awsdt
