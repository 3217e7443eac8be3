// Cross-rank reduction of a per-process measurement over the bootstrap (the host control plane, as nccl-tests
// uses MPI): min/mean/max and which rank (and host) was slowest, the first thing users look for when hunting
// stragglers.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"

namespace awsdt {

struct RankSpread {
  std::vector<double> values;  ///< every rank's value, by rank
  double min = 0, mean = 0, max = 0;
  int slowest_rank = 0;  ///< rank with the largest value
  std::string slowest_host;
  int fastest_rank = 0;
  std::string fastest_host;
  /// (max - min) / min: how much ranks disagree.
  double imbalance() const { return min > 0 ? (max - min) / min : 0.0; }
};

/// The time a benchmark reports for `spread` under nccl-tests' -a: 0 rank 0's, 1 the mean, 2 the min, 3 the max.
double reported_time(const RankSpread& spread, int average);

/// Gathers `value` from every rank; every rank gets the same answer.
RankSpread reduce_across_ranks(Bootstrap& bootstrap, double value);
/// Every rank's `values` (same length everywhere), concatenated in rank order.
std::vector<double> all_gather_values(Bootstrap& bootstrap, std::span<const double> values);

}  // namespace awsdt
