// spdlog set-up for executables: rank 0 logs at info, other ranks at warn, always to stderr so stdout stays
// for tables and JSON.
#pragma once

#include <string>

namespace awsdt {

/// Configures the default logger for this rank. verbose lowers the level to debug on every rank.
void setup_logging(int rank, bool verbose = false);

}  // namespace awsdt
