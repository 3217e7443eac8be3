// Test support: run a shell command (or an mpirun of a program) and capture its output, exit status and time.
#pragma once

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include "awsdt/config.hpp"

namespace awsdt::testing {

struct Outcome {
  int status = -1;     ///< exit status, or 128+signal
  std::string output;  ///< stdout and stderr together
  double seconds = 0;
};

/// Runs `command` (a program and its arguments, optionally after `env K=V`) through the shell, in `cwd` when
/// given, with stderr merged into stdout, killed after `limit_s` seconds.
inline Outcome run_command(const std::string& command, int limit_s = 120, const std::string& cwd = "") {
  std::string cmd =
      (cwd.empty() ? "" : "cd '" + cwd + "' && ") + "timeout " + std::to_string(limit_s) + " " + command + " 2>&1";
  auto t0 = std::chrono::steady_clock::now();
  Outcome o;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), p)) o.output += buf.data();
  int raw = ::pclose(p);
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

/// "mpirun ... -np N": oversubscribed, allowed as root, kept on loopback.
inline std::string mpirun(int np) {
  return std::string(AWSDT_MPIRUN) +
         " --oversubscribe --allow-run-as-root --mca btl self,vader,tcp --mca btl_tcp_if_include lo"
         " --mca oob_tcp_if_include lo -np " +
         std::to_string(np) + " ";
}

}  // namespace awsdt::testing
