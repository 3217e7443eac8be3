// The gpu collector: each GPU's utilisation, memory, temperature, power, clocks and throttle reasons, ECC and
// NVLink error counts and Xid errors, through NVML loaded at run time, under dcgm-exporter's metric names where
// it has one (DCGM_FI_DEV_*), so that its dashboards (grafana.com 12239) read ours.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "collector.hpp"
#include "nvml_api.hpp"

namespace awsdt::exporter {

class GpuCollector : public Collector {
 public:
  /// Loads `library`; without it (no driver: a CPU node) the collector reports itself down with the reason.
  /// Xid errors are counted from NVML's events by a thread of this collector, from the exporter's start.
  explicit GpuCollector(const std::string& library);
  ~GpuCollector() override;
  std::string name() const override { return "gpu"; }
  std::string collect(FamilySet& out) const override;

 private:
  void watch_xids();
  void collect_gpu(FamilySet& out, unsigned index) const;

  std::unique_ptr<nvml::Library> nvml_;
  std::atomic<bool> stop_{false};
  std::thread xid_thread_;
  mutable std::mutex xid_mutex_;
  std::map<unsigned, std::map<unsigned long long, std::uint64_t>> xids_;  ///< GPU index -> Xid -> count
  std::map<unsigned, unsigned long long> last_xid_;                       ///< GPU index -> the latest Xid
};

}  // namespace awsdt::exporter
