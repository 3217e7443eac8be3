// Pictures of runs, drawn by gnuplot (Debian's gnuplot-nox): collectives' busbw and algbw against size (log
// scale, one line per run and collective), fsdp's loss and tokens/s against step, megatron's time and overlap
// efficiency against M. SVG, PNG, or an HTML page holding the SVG; `report` adds the tables.
#pragma once

#include <string>
#include <vector>

#include "analysis/run_result.hpp"

namespace awsdt::launcher {

/// Draws `runs` (of one benchmark) into `file`, whose extension (.svg, .png, .html) says the format. Throws
/// UsageError for another extension, runs of different benchmarks, or a missing gnuplot.
void plot_runs(const std::vector<RunResult>& runs, const std::string& file);
/// One self-contained HTML page (no network needed): each run's origin, versions and headline figures, the
/// comparison table, and the plot inline as SVG.
void write_report(const std::vector<RunResult>& runs, const std::string& file);

}  // namespace awsdt::launcher
