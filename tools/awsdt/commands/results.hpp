// `awsdt results`: every run kept, compared, gated and drawn. `list` and `show` over the job database and result
// files; `compare` side by side with ratios; `gate` for CI (non-zero when a headline figure regressed);
// `plot` and `report` (gnuplot SVG/PNG, one self-contained HTML page). A run is a job number or a result file:
// an awsdt result document, nccl-tests' -J JSON, or a log holding an nccl-tests table.
#pragma once

#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

/// Registers the subcommand; `exit_status` receives gate's verdict.
void setup_results(CLI::App& app, int& exit_status);

}  // namespace awsdt::launcher
