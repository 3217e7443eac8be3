// Comparing runs: whether they measured the same thing, side-by-side tables with ratios, and the gate that
// fails a candidate whose headline figures regressed beyond a threshold.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analysis/run_result.hpp"
#include "results/table.hpp"

namespace awsdt::launcher {

/// Throws UsageError naming the first field in which `b` differs from `a` (test case, model shape, ranks,
/// collectives, TP size, ...): comparing them would mislead. `--force` skips this.
void require_comparable(const RunResult& a, const RunResult& b);

/// Every point the runs share (series, x, name) and every headline metric, with each run's value and its ratio
/// to the first run's.
Table compare_table(const std::vector<RunResult>& runs);

/// A metric of the candidate that is worse than the baseline's by more than its threshold.
struct Regression {
  std::string metric;
  double baseline = 0, candidate = 0;
  double regression = 0;  ///< fraction worse (0.1: 10% worse)
  double threshold = 0;
};

/// Headline metrics of `candidate` against `baseline`: regressions beyond `max_regression` (a fraction), or
/// beyond `per_metric[name]` for the metrics named there.
std::vector<Regression> gate(const RunResult& baseline, const RunResult& candidate, double max_regression,
                             const std::map<std::string, double>& per_metric);

/// "5%" or "0.05" as a fraction; throws UsageError naming `what` otherwise.
double parse_fraction(const std::string& text, const std::string& what);

}  // namespace awsdt::launcher
