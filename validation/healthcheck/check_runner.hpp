// Runs node checks, each in a child process with a deadline: a check that hangs (a wedged driver call, a dcgmi that
// never returns) is killed with its process group and fails with the severity of "timeout", and the node's prolog
// still ends in time.
#pragma once

#include <vector>

#include "check.hpp"

namespace awsdt::health {

struct CheckRun {
  Outcome outcome;
  double seconds = 0;
};

/// Runs `fn` for `info` in a child process, killed after `timeout_s` seconds.
CheckRun run_isolated(const CheckInfo& info, const CheckFn& fn, const Context& ctx, double timeout_s);

/// Runs `fn` in this process (for tests, and checks that must share the process, such as the cluster one); what it
/// throws becomes the failure "error".
Outcome run_in_process(const CheckInfo& info, const CheckFn& fn, const Context& ctx);

}  // namespace awsdt::health
