// Small host-side exchanges through any Communicator (staging through device memory when it must), used for
// timings and checks that every rank has to agree on.
#pragma once

#include <span>
#include <vector>

#include "comm/communicator.hpp"

namespace awsdt {

/// Every rank's `values`, concatenated in rank order (each rank passes the same number of values).
std::vector<double> all_gather_values(Communicator& comm, std::span<const double> values);

}  // namespace awsdt
