// awsdt-healthcheck's command line.
#pragma once

#include <string>
#include <vector>

#include "check.hpp"
#include "cluster.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::health {

struct Options {
  std::string suite = "lightweight";
  std::vector<std::string> checks;  ///< --check: run these instead of the suite
  std::string root = "/";
  std::string instance_type;
  double timeout_s = 0;  ///< per check; 0 = each check's own from checks.json
  bool exclusive = false;
  bool json = false;
  bool list = false;
  std::string output;       ///< JSON document, written atomically
  std::string reason_file;  ///< drain reason, written atomically when the node must leave service
  Settings settings;
  ClusterSettings cluster;
};

void add_options(CLI::App& app, Options& o);
/// A finite number in [lo, hi] (CLI11's ranges let nan and inf through).
CLI::Validator finite(double lo, double hi);
/// The checks to run, in checks.json's order; throws UsageError for a suite or check that does not exist, and for
/// intensive checks without --exclusive.
std::vector<const CheckInfo*> selected_checks(const Options& o);

}  // namespace awsdt::health
