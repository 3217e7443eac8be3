// Running the clients the launcher drives (sbatch, squeue, kubectl, aws, mpirun) without a shell: argv in,
// exit status and output out. No user value ever passes through a shell here.
#pragma once

#include <string>
#include <vector>

namespace awsdt::launcher {

struct ProcessResult {
  int status = -1;  ///< exit status, 128+signal, or 127 when the program could not be started
  std::string out, err;
};

/// Runs argv[0] (searched on PATH) and waits for it.
ProcessResult run_process(const std::vector<std::string>& argv);
/// Starts argv detached (own session), stdout+stderr appended to `log_file`; returns its pid.
int spawn_detached(const std::vector<std::string>& argv, const std::string& log_file);
/// Throws an Error naming the command and its stderr when it failed.
ProcessResult run_checked(const std::vector<std::string>& argv);
/// "a 'b c'" for messages and --dry-run: each word shell-quoted when needed.
std::string display_command(const std::vector<std::string>& argv);

}  // namespace awsdt::launcher
