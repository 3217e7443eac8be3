// Options every benchmark shares, as CLI11 option groups, so flags are spelled the same everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "comm/registry.hpp"
#include "util/cli_fwd.hpp"
#include "util/error.hpp"

namespace awsdt {

struct CommonOptions {
  CommConfig comm;
  std::string json_output;   ///< result document path ("" = none)
  std::string csv_output;    ///< CSV path ("" = none)
  bool json_stdout = false;  ///< print the result document on stdout instead of the table
  bool verbose = false;
  double timeout_s = 0;                ///< per-operation watchdog (0 = none): a stuck operation aborts the job
  std::string json_flag = "--output";  ///< the result file's long flag name(s), as errors name it
};

/// How a benchmark times an operation, with nccl-tests' flags (-n, -w, -a, -z, -T).
struct TimingOptions {
  int iters = 20;         ///< timed iterations
  int warmup = 5;         ///< warm-up iterations
  int average = 1;        ///< time reported: 0 rank 0, 1 mean, 2 min, 3 max over ranks
  bool blocking = false;  ///< wait for completion after every iteration
  double timeout_s = 0;   ///< seconds before a stuck operation aborts the job (0: never)
};
/// CLI11 checks for real-valued flags: a finite number (nan, inf and overflowing values such as 1e999 are
/// typos that would otherwise reach a timer or a schedule) of at least `min`, or above it (`strict`). A bad value
/// is reported by CLI11 as "--flag: ..." in one line.
CLI::Validator finite_number(double min, bool strict = false);
/// A CLI11 check for unsigned flags: digits only, within 64 bits (CLI11 would wrap "-1" around to 2^64-1).
CLI::Validator unsigned_integer();

/// Returns parse(); a UsageError it throws is thrown again with the flag's name in front ("--datatype: unknown
/// datatype 'x'; ..."), so that the one line says which flag to fix.
template <class Parse>
auto for_flag(std::string_view flag, Parse&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const UsageError& e) {
    throw UsageError(std::string(flag) + ": " + e.what());
  }
}

/// Adds -n/--iters, -w/--warmup_iters, -a/--average, -z/--blocking and -T/--timeout as nccl-tests spells them.
void add_timing_options(CLI::App& app, TimingOptions& options);

/// Adds a byte-count option (-b 8, -e 16G) parsed by parse_bytes; a bad value is a UsageError naming `what`.
void add_bytes_option(CLI::App& app, const std::string& flags, std::uint64_t& target, const std::string& what,
                      const std::string& help);

/// Adds --mpi-wait poll|spin: how the MPI backend's communication thread waits (poll: tests nonblocking
/// collectives with short sleeps, leaving the core to compute it shares it with; spin: blocks in MPI's own
/// collectives, lowest latency on dedicated cores).
void add_mpi_wait_option(CLI::App& app, std::string& mpi_wait);

/// Adds the "Communication" and "Output" groups. `json_flag` is the flag name for the result file
/// (nccl-tests spells it -J/--output_file; trainers use --output).
void add_common_options(CLI::App& app, CommonOptions& options, const std::string& json_flag = "--output");

/// Rank 0's output files (the result document, the CSV), checked before the work with check_writable_file: a
/// path that cannot take them is refused now, in one line naming its flag, not after the run. Rank 0 only (it
/// writes them; another node need not have the directory), once the rank is known: `awsdt run --check-args`
/// checks the flags before the job directory they name exists.
void check_output_files(const CommonOptions& options, int rank);

}  // namespace awsdt
