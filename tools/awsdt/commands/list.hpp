// `awsdt list`: the test cases the launcher can run, from their manifests.
#pragma once

#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

/// Registers the subcommand; its callback prints the list.
void setup_list(CLI::App& app);

}  // namespace awsdt::launcher
