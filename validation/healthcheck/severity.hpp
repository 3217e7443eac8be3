// Severities of a failed health check and the action each asks for, as the seed's GPU health check defines them:
// ISOLATE (drain and replace the instance), REBOOT, RESET (GPU reset), MONITOR (flag, keep in service).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace awsdt::health {

/// Ordered from harmless to worst, so that the worst of several is their maximum.
enum class Severity { Pass, Skip, Monitor, Reset, Reboot, Isolate };

/// "PASS", "SKIP", "MONITOR", "RESET", "REBOOT", "ISOLATE".
std::string_view severity_name(Severity s);
/// The inverse of severity_name; nullopt for anything else.
std::optional<Severity> parse_severity(std::string_view name);
/// What an operator (or the Slurm prolog) does about it, one short phrase.
std::string_view severity_action(Severity s);
/// The exit status awsdt-healthcheck returns when `s` is the worst result: 0 while the node may run jobs
/// (PASS, SKIP, MONITOR), 3 RESET, 4 REBOOT, 5 ISOLATE (1 is an internal error, 2 a usage error).
int severity_exit_status(Severity s);
/// Whether the node must leave service (the prolog drains it): REBOOT and ISOLATE.
bool severity_drains(Severity s);

}  // namespace awsdt::health
