// awsdt-exporter's command line (see options.hpp).
#include "options.hpp"

#include <charconv>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace awsdt::exporter {

std::string Options::sysfs_dir() const {
  return sysfs.empty() ? (std::filesystem::path(root) / "sys").string() : sysfs;
}

std::string Options::bind_address() const {
  const auto colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  const std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    throw UsageError(fmt::format("--listen '{}': expected [HOST]:PORT with a port 0-65535, e.g. :9109", listen));
  return host.empty() ? port : host + ":" + port;
}

void add_options(CLI::App& app, Options& o) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--listen", o.listen, "[HOST]:PORT to serve /metrics on (port 0: any free port, printed)")
      ->capture_default_str();
  app.add_option("--collectors", o.collectors, "the collectors to run, comma-separated: efa, gpu, awsdt")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->check(CLI::IsMember(kCollectors))
      ->capture_default_str();
  // The directories must exist: a typo would otherwise serve empty metrics for ever, each collector "down"
  // (both install files create --metrics-dir: systemd's RuntimeDirectory, Kubernetes' DirectoryOrCreate).
  app.add_option("--root", o.root, "the node's root directory (in a container: where the host's / is mounted)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--sysfs", o.sysfs, "sysfs directory holding class/infiniband (default: <root>/sys)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--metrics-dir", o.metrics_dir,
                 "awsdt collector: the directory of the *.prom files benchmarks write with --metrics-file")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--nvml-library", o.nvml_library, "gpu collector: the NVML library to load")->capture_default_str();
  app.add_flag("--once", o.once, "print one scrape on stdout and exit instead of serving");
  app.add_flag("-v,--verbose", o.verbose, "debug logging (why a collector is down)");
}

}  // namespace awsdt::exporter
