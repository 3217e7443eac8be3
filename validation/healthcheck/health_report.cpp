// Report (see health_report.hpp).
#include "health_report.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "results/table.hpp"

namespace awsdt::health {

Severity Report::worst() const {
  Severity s = Severity::Pass;
  for (const auto& r : runs)  // a skipped check says nothing about the node
    if (r.outcome.severity() != Severity::Skip) s = std::max(s, r.outcome.severity());
  return s;
}

int Report::exit_status() const { return severity_exit_status(worst()); }

std::string Report::drain_reason() const {
  if (!severity_drains(worst())) return "";
  const CheckRun* worst_run = nullptr;
  for (const auto& r : runs)
    if (!worst_run || r.outcome.severity() > worst_run->outcome.severity()) worst_run = &r;
  auto reason = fmt::format("awsdt-healthcheck: {} {}: {}", worst_run->outcome.info().id,
                            severity_name(worst_run->outcome.severity()), worst_run->outcome.worst_detail());
  // A reason is one line for sinfo -R; keep it short and free of characters scontrol would split on.
  std::replace_if(
      reason.begin(), reason.end(), [](char c) { return c == '\n' || c == '"' || c == '\''; }, ' ');
  return reason.size() > 200 ? reason.substr(0, 200) : reason;
}

nlohmann::json Report::to_json() const {
  auto checks = nlohmann::json::array();
  int passed = 0, warned = 0, failed = 0, skipped = 0;
  for (const auto& r : runs) {
    auto j = r.outcome.to_json();
    j["seconds"] = r.seconds;
    j["expected_s"] = r.outcome.info().expected_s;
    checks.push_back(j);
    auto status = r.outcome.status();
    (status == "PASS" ? passed : status == "WARN" ? warned : status == "SKIP" ? skipped : failed)++;
  }
  auto now = std::chrono::system_clock::now();
  return {{"timestamp", fmt::format("{:%FT%TZ}", std::chrono::floor<std::chrono::seconds>(now))},
          {"host", host},
          {"instance_type", instance_type},
          {"suite", suite},
          {"checks", checks},
          {"summary",
           {{"total", runs.size()},
            {"passed", passed},
            {"warned", warned},
            {"failed", failed},
            {"skipped", skipped},
            {"severity", severity_name(worst())},
            {"action", severity_action(worst())},
            {"exit_status", exit_status()},
            {"drain_reason", drain_reason()}}}};
}

std::string Report::table() const {
  Table t{{"CHECK", "STATUS", "SEVERITY", "TIME", "DETAILS"}, {}};
  for (const auto& r : runs)
    t.rows.push_back({r.outcome.info().id, r.outcome.status(), std::string(severity_name(r.outcome.severity())),
                      fmt::format("{:.2f}s", r.seconds), r.outcome.details()});
  return fmt::format("awsdt-healthcheck on {} ({}), suite {}\n{}result: {} ({}), exit status {}\n", host,
                     instance_type.empty() ? "instance type unknown" : instance_type, suite, format_table(t),
                     severity_name(worst()), severity_action(worst()), exit_status());
}

}  // namespace awsdt::health
