// One run from resolved choices to rows: for each device, open the endpoint, meet the peer over the Link, and run
// every test, message kind and size. --loopback runs the two sides on two threads of this process.
#pragma once

#include <string>
#include <vector>

#include "device/device.hpp"
#include "link.hpp"
#include "options.hpp"
#include "report.hpp"

namespace awsdt::fabric {

struct Plan {
  std::string provider;
  std::vector<std::string> devices;  ///< domains to run in turn ("" = the provider's first)
  Device memory;                     ///< where the buffers live (CPU, or a GPU for --hmem cuda)
};

struct Outcome {
  std::vector<Row> rows;              ///< side 0's measurements
  std::vector<std::string> notes;     ///< tests skipped and why
  std::vector<nlohmann::json> infos;  ///< fi_info attributes of each device
};

/// This process's side of a two-rank run.
Outcome run_side(const Options& options, const Plan& plan, Link& link, TableReport& report);
/// Both sides in this process.
Outcome run_loopback(const Options& options, const Plan& plan, TableReport& report);

}  // namespace awsdt::fabric
