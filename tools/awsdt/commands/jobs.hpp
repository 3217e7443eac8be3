// `awsdt status`, `awsdt logs`, `awsdt cancel` and `awsdt jobs`: following submitted jobs from any directory
// through the job database.
#pragma once

#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

void setup_status(CLI::App& app);
void setup_logs(CLI::App& app);
void setup_cancel(CLI::App& app);
void setup_jobs(CLI::App& app);

}  // namespace awsdt::launcher
