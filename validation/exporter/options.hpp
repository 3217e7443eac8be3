// awsdt-exporter's command line.
#pragma once

#include <string>
#include <vector>

#include "util/cli_fwd.hpp"

namespace awsdt::exporter {

/// The collectors there are, in the order they run.
inline const std::vector<std::string> kCollectors = {"efa", "gpu", "awsdt"};

struct Options {
  std::string listen = ":9109";  ///< the seed's collector configuration scrapes EFA metrics on 9109
  std::vector<std::string> collectors = kCollectors;
  std::string root = "/";  ///< the node's root (a container's view of the host: /host)
  std::string sysfs;       ///< "" = <root>/sys
  std::string metrics_dir = "/run/awsdt/metrics";
  std::string nvml_library = "libnvidia-ml.so.1";
  bool once = false;
  bool verbose = false;

  std::string sysfs_dir() const;
  /// The address as civetweb takes it ("9109", "127.0.0.1:9109"). Throws UsageError naming a bad --listen.
  std::string bind_address() const;
};

/// Adds every flag; --collectors is checked against kCollectors.
void add_options(CLI::App& app, Options& o);

}  // namespace awsdt::exporter
