// awsdt-healthcheck's output: a table for people and a JSON document (each check and a summary) for programs, and
// the exit status and drain reason the Slurm prolog acts on.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "check_runner.hpp"

namespace awsdt::health {

struct Report {
  std::string host, instance_type, suite;
  std::vector<CheckRun> runs;
  /// The worst severity over the checks that ran (PASS when every one passed or was skipped).
  Severity worst() const;
  /// severity_exit_status(worst()).
  int exit_status() const;
  /// "awsdt-healthcheck: <check>: <detail>" of the worst failure, for `scontrol update reason=`; "" when the node
  /// may run jobs.
  std::string drain_reason() const;
  /// {timestamp, host, instance_type, suite, checks: [...], summary: {...}}.
  nlohmann::json to_json() const;
  /// One row per check (CHECK, STATUS, SEVERITY, TIME, DETAILS) and a summary line.
  std::string table() const;
};

}  // namespace awsdt::health
