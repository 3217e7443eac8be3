// The efa collector: every EFA port's hardware counters from sysfs, with the names of the seed's node_exporter
// collector (node_amazonefa_<counter>{device,port}), so that its Grafana dashboard (grafana.com 20579) reads
// ours unchanged; unlike it, every counter file is served, the admin counters included.
#pragma once

#include <filesystem>

#include "collector.hpp"

namespace awsdt::exporter {

class EfaCollector : public Collector {
 public:
  /// `sysfs`: the directory holding class/infiniband ("/sys" on a node, a fake tree in tests).
  explicit EfaCollector(std::filesystem::path sysfs) : sysfs_(std::move(sysfs)) {}
  std::string name() const override { return "efa"; }
  std::string collect(FamilySet& out) const override;

 private:
  void collect_port(FamilySet& out, const std::string& device, const std::filesystem::path& port_dir) const;
  std::filesystem::path sysfs_;
};

}  // namespace awsdt::exporter
