// Outcomes and expectations (see check.hpp).
#include "check.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "results/catalog.hpp"

namespace awsdt::health {

std::optional<Expectation> expectation_for(const std::string& instance_type) {
  auto catalog = nlohmann::json::parse(embedded_instance_catalog());
  const auto& instances = catalog.at("instances");
  if (instance_type.empty() || !instances.contains(instance_type)) return std::nullopt;
  const auto& i = instances.at(instance_type);
  Expectation e;
  e.instance_type = instance_type;
  e.gpu = i.value("gpu", "");
  e.gpus = i.value("gpus", 0);
  e.efa = i.value("efa", 0);
  e.nvlink = i.value("nvlink", false);
  e.peak_bf16_tflops = i.value("peak_bf16_tflops", 0.0);
  e.allreduce_busbw_gbs = i.value("allreduce_busbw_gbs", 0.0);
  e.memory_bw_gbs = i.value("memory_bw_gbs", 0.0);
  e.node_allreduce_busbw_gbs = i.value("node_allreduce_busbw_gbs", 0.0);
  return e;
}

std::string detect_instance_type(const NodeRoot& root, const std::string& given) {
  if (!given.empty()) return given;
  auto product = root.read_line("/sys/devices/virtual/dmi/id/product_name").value_or("");
  return expectation_for(product) ? product : "";
}

void Outcome::fail(const std::string& key, const std::string& detail) {
  failures_.push_back({key, info_->severity_of(key), detail});
}

void Outcome::fail_with(Severity severity, const std::string& key, const std::string& detail) {
  failures_.push_back({key, severity, detail});
}

void Outcome::skip(const std::string& why) { skipped_ = why; }

Severity Outcome::severity() const {
  Severity worst = skipped_ && failures_.empty() ? Severity::Skip : Severity::Pass;
  for (const auto& f : failures_) worst = std::max(worst, f.severity);
  return worst;
}

std::string Outcome::status() const {
  switch (severity()) {
    case Severity::Pass: return "PASS";
    case Severity::Skip: return "SKIP";
    case Severity::Monitor: return "WARN";
    default: return "FAIL";
  }
}

std::string Outcome::details() const {
  std::vector<std::string> parts;
  for (const auto& f : failures_) parts.push_back(f.detail);
  if (skipped_) parts.push_back(*skipped_);
  parts.insert(parts.end(), notes_.begin(), notes_.end());
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::string Outcome::worst_detail() const {
  const Failure* worst = nullptr;
  for (const auto& f : failures_)
    if (!worst || f.severity > worst->severity) worst = &f;
  return worst ? worst->detail : "";
}

nlohmann::json Outcome::to_json() const {
  auto failures = nlohmann::json::array();
  for (const auto& f : failures_)
    failures.push_back({{"key", f.key}, {"severity", severity_name(f.severity)}, {"detail", f.detail}});
  return {{"check", info_->id},
          {"name", info_->name},
          {"status", status()},
          {"severity", severity_name(severity())},
          {"action", severity_action(severity())},
          {"details", details()},
          {"failures", failures},
          {"notes", notes_},
          {"skipped", skipped_.value_or("")},
          {"measured", measured_}};
}

Outcome Outcome::from_json(const nlohmann::json& j) {
  Outcome o(check_info(j.at("check").get<std::string>()));
  for (const auto& f : j.at("failures"))
    o.failures_.push_back({f.at("key"), *parse_severity(f.at("severity").get<std::string>()), f.at("detail")});
  o.notes_ = j.at("notes").get<std::vector<std::string>>();
  if (auto s = j.at("skipped").get<std::string>(); !s.empty()) o.skipped_ = s;
  o.measured_ = j.at("measured");
  return o;
}

}  // namespace awsdt::health
