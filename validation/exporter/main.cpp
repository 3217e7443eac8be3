// awsdt-exporter: EFA, GPU and training metrics of this node for Prometheus, on one HTTP endpoint.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "awsdt/config.hpp"
#include "awsdt_collector.hpp"
#include "bench/guard.hpp"
#include "efa_collector.hpp"
#include "gpu_collector.hpp"
#include "options.hpp"
#include "scrape.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

using namespace awsdt;
using namespace awsdt::exporter;

namespace {

std::vector<std::unique_ptr<Collector>> make_collectors(const Options& o) {
  std::vector<std::unique_ptr<Collector>> out;
  for (const auto& name : kCollectors) {  // in kCollectors' order, once each, however --collectors lists them
    if (std::find(o.collectors.begin(), o.collectors.end(), name) == o.collectors.end()) continue;
    if (name == "efa") out.push_back(std::make_unique<EfaCollector>(o.sysfs_dir()));
    if (name == "gpu") out.push_back(std::make_unique<GpuCollector>(o.nvml_library));
    if (name == "awsdt") out.push_back(std::make_unique<AwsdtCollector>(o.metrics_dir));
  }
  return out;
}

// Serves until SIGTERM or SIGINT. The signals are blocked before the server starts its threads, which inherit the
// mask, so that only sigwait here receives them.
int serve(const Options& o, std::shared_ptr<Scrape> scrape) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  const std::string address = o.bind_address();
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("--listen '{}': cannot listen there: {}", o.listen, e.what()));
  }
  exposer->RegisterCollectable(scrape);
  std::printf("awsdt-exporter %s listening on port %d (collectors: %s)\n", AWSDT_VERSION,
              exposer->GetListeningPorts().at(0), fmt::format("{}", fmt::join(o.collectors, ", ")).c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("signal {}: stopping", sig);
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{"awsdt-exporter: EFA, GPU and training metrics for Prometheus", "awsdt-exporter"};
  Options o;
  add_options(app, o);
  if (auto status = parse_command_line(app, argc, argv)) return *status;
  setup_logging(0, o.verbose);
  auto scrape = std::make_shared<Scrape>(make_collectors(o));
  if (o.once) {
    std::fputs(prometheus::TextSerializer().Serialize(scrape->Collect()).c_str(), stdout);
    return 0;
  }
  return serve(o, scrape);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] { return run(argc, argv); });
}
