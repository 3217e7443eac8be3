// cluster-allreduce (--suite cluster, one rank per node): all_reduce bus bandwidth across the nodes through the
// core's communicator (NCCL on GPUs, MPI on CPUs); when it falls short of the floor, each node's outbound
// bandwidth to every other node, naming the node that stands out as slow.
#pragma once

#include <cstdint>

#include "check.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::health {

struct ClusterSettings {
  std::uint64_t bytes = 64ull << 20;  ///< all_reduce and pairwise message size
  int iters = 10;
  double min_busbw_gbs = 0;  ///< 0: the catalog's allreduce_busbw_gbs for the instance type (none: report only)
  int test_slow_rank = -1;   ///< hidden test hook: this rank delays each of its sends, as a slow NIC would
};

void add_cluster_options(CLI::App& app, ClusterSettings& s);

/// Runs the check on every rank (collectively) and returns the same outcome on each.
Outcome run_cluster_check(const CheckInfo& info, const Context& ctx, const ClusterSettings& s);

/// The rank whose outbound bandwidth (`outbound[r]`, GB/s) is below half the median of the others', or -1.
int slow_outlier(const std::vector<double>& outbound);

}  // namespace awsdt::health
