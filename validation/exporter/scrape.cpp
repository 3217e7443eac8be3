// One scrape (see scrape.hpp).
#include "scrape.hpp"

#include <chrono>
#include <exception>
#include <thread>

#include <spdlog/spdlog.h>

#include "awsdt/config.hpp"

namespace awsdt::exporter {
using prometheus::MetricType;

// civetweb's worker threads have 100 KiB stacks (Debian 12's build: 102400 bytes per thread), and a program's
// static TLS comes out of them: a sanitizer build that loads OpenBLAS leaves less than 40 KiB. The collectors
// (directory walks, NVML) run on a thread of the system's default stack size instead.
std::vector<prometheus::MetricFamily> Scrape::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  std::exception_ptr error;
  std::thread([&] {
    try {
      families = collect_all();
    } catch (...) {
      error = std::current_exception();
    }
  }).join();
  if (error) std::rethrow_exception(error);
  return families;
}

std::vector<prometheus::MetricFamily> Scrape::collect_all() const {
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
