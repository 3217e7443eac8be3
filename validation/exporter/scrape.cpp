// One scrape (see scrape.hpp).
#include "scrape.hpp"

#include <chrono>
#include <exception>

#include <spdlog/spdlog.h>

#include "awsdt/config.hpp"

namespace awsdt::exporter {
using prometheus::MetricType;

std::vector<prometheus::MetricFamily> Scrape::Collect() const {
  FamilySet out;
  FamilySet status;
  status.add("awsdt_exporter_build_info", "awsdt-exporter's version; the value is always 1.", MetricType::Gauge,
             {{"version", AWSDT_VERSION}}, 1);
  for (const auto& c : collectors_) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string why;
    try {
      why = c->collect(out);
    } catch (const std::exception& e) {
      why = e.what();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!why.empty()) spdlog::debug("collector {} down: {}", c->name(), why);
    status.add("awsdt_exporter_collector_up", "1 when the collector could read its source at this scrape, else 0.",
               MetricType::Gauge, {{"collector", c->name()}}, why.empty() ? 1 : 0);
    status.add("awsdt_exporter_collector_duration_seconds", "How long the collector took at this scrape.",
               MetricType::Gauge, {{"collector", c->name()}}, seconds);
  }
  for (const auto& family : status.take()) out.append(family);
  return out.take();
}

}  // namespace awsdt::exporter
