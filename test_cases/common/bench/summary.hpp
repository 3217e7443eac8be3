// Samples -> Summary: the statistics every benchmark reports for a set of timings.
#pragma once

#include <cstddef>
#include <span>

#include <nlohmann/json_fwd.hpp>

namespace awsdt {

struct Summary {
  std::size_t count = 0;
  double min = 0, max = 0, mean = 0, p50 = 0, p95 = 0, p99 = 0, stdev = 0;
};

/// Statistics of `samples` (percentiles interpolate linearly between order statistics, as numpy does;
/// stdev is the sample standard deviation). Empty input gives a zero Summary.
Summary summarize(std::span<const double> samples);
void to_json(nlohmann::json& j, const Summary& s);
void from_json(const nlohmann::json& j, Summary& s);

}  // namespace awsdt
