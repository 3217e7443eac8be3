// Severities (see severity.hpp).
#include "severity.hpp"

#include <array>

namespace awsdt::health {
namespace {

struct Row {
  Severity severity;
  std::string_view name, action;
  int exit_status;
};
constexpr std::array<Row, 6> kRows{{
    {Severity::Pass, "PASS", "none", 0},
    {Severity::Skip, "SKIP", "none (not applicable here)", 0},
    {Severity::Monitor, "MONITOR", "keep in service, flag for follow-up", 0},
    {Severity::Reset, "RESET", "reset the GPU (nvidia-smi --gpu-reset) when idle", 3},
    {Severity::Reboot, "REBOOT", "drain and reboot (scontrol reboot nextstate=resume)", 4},
    {Severity::Isolate, "ISOLATE", "drain and replace the instance", 5},
}};

const Row& row(Severity s) { return kRows[static_cast<std::size_t>(s)]; }

}  // namespace

std::string_view severity_name(Severity s) { return row(s).name; }
std::string_view severity_action(Severity s) { return row(s).action; }
int severity_exit_status(Severity s) { return row(s).exit_status; }
bool severity_drains(Severity s) { return s >= Severity::Reboot; }

std::optional<Severity> parse_severity(std::string_view name) {
  for (const auto& r : kRows)
    if (r.name == name) return r.severity;
  return std::nullopt;
}

}  // namespace awsdt::health
