// Options every benchmark shares, as CLI11 option groups, so flags are spelled the same everywhere.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "comm/registry.hpp"

namespace awsdt {

struct CommonOptions {
  CommConfig comm;
  std::string json_output;   ///< result document path ("" = none)
  std::string csv_output;    ///< CSV path ("" = none)
  bool json_stdout = false;  ///< print the result document on stdout instead of the table
  bool verbose = false;
  double timeout_s = 0;  ///< per-operation watchdog (0 = none): a stuck operation aborts the job
};

/// Adds the "Communication" and "Output" groups. `json_flag` is the flag name for the result file
/// (nccl-tests spells it -J/--output_file; trainers use --output).
void add_common_options(CLI::App& app, CommonOptions& options, const std::string& json_flag = "--output");

}  // namespace awsdt
