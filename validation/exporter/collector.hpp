// What every collector of awsdt-exporter is (efa, gpu, awsdt), and FamilySet, the builder they add samples to.
// A collector reads its source afresh at every scrape: devices, GPUs and metrics files that appear or vanish
// between scrapes need no bookkeeping.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace awsdt::exporter {

/// Metric families under construction: samples of one name go to one family, in the order first added.
class FamilySet {
 public:
  /// Adds one sample; `type` decides which field of the sample carries `value` (counter, gauge or untyped).
  void add(const std::string& name, const std::string& help, prometheus::MetricType type,
           std::map<std::string, std::string> labels, double value);
  /// Adds every sample of `family` (to the family of that name, if there is one already).
  void append(const prometheus::MetricFamily& family);
  std::vector<prometheus::MetricFamily> take() { return std::move(families_); }
  bool empty() const { return families_.empty(); }

 private:
  std::vector<prometheus::MetricFamily> families_;
  std::map<std::string, std::size_t> index_;
};

/// One source of metrics.
class Collector {
 public:
  virtual ~Collector() = default;
  /// "efa", "gpu", "awsdt": the value of the collector label and of --collectors.
  virtual std::string name() const = 0;
  /// Adds this scrape's samples. Returns "" when the source could be read, else why not (no EFA devices'
  /// directory, no NVML): the collector is then reported down, and the scrape goes on.
  virtual std::string collect(FamilySet& out) const = 0;
};

}  // namespace awsdt::exporter
