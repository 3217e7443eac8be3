// One scrape of awsdt-exporter: every enabled collector in turn, each reported up or down with the time it took,
// so that one collector's failure (no NVML, no EFA) costs the scrape only that collector's metrics.
#pragma once

#include <memory>
#include <vector>

#include <prometheus/collectable.h>

#include "collector.hpp"

namespace awsdt::exporter {

class Scrape : public prometheus::Collectable {
 public:
  explicit Scrape(std::vector<std::unique_ptr<Collector>> collectors) : collectors_(std::move(collectors)) {}
  /// Called by the HTTP server's threads, possibly at once: collectors keep no state between calls. The
  /// collectors run on a thread of their own (see scrape.cpp).
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::vector<prometheus::MetricFamily> collect_all() const;
  std::vector<std::unique_ptr<Collector>> collectors_;
};

}  // namespace awsdt::exporter
