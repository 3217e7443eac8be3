// --metrics-file for awsdt-collectives: each measured row (one size of one collective) is a logged step, its bus
// and algorithm bandwidth and time written for awsdt-exporter while the sweep runs.
#pragma once

#include "bench/metrics_file.hpp"
#include "harness.hpp"

namespace awsdt::collectives {

/// Passes every row on to `next` (the table), then rewrites the metrics file with it.
class MetricsReport final : public RowSink {
 public:
  MetricsReport(RowSink& next, MetricsFile file) : next_(next), file_(std::move(file)) {}
  void begin_collective(const Collective& c) override { next_.begin_collective(c); }
  void row(const Row& row) override;

 private:
  RowSink& next_;
  MetricsFile file_;
  int step_ = 0;
};

}  // namespace awsdt::collectives
