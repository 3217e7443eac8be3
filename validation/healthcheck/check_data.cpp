// Checks as data (see check_data.hpp).
#include "check_data.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace awsdt::health {
namespace {

std::map<std::string, Severity> parse_failures(const nlohmann::json& j, const std::string& id) {
  std::map<std::string, Severity> out;
  for (const auto& [key, value] : j.items()) {
    auto name = value.get<std::string>();
    if (name == "table") continue;
    auto s = parse_severity(name);
    if (!s) AWSDT_THROW(fmt::format("checks.json: check '{}' failure '{}' has unknown severity '{}'", id, key, name));
    out[key] = *s;
  }
  return out;
}

std::vector<CheckInfo> load() {
  auto doc = nlohmann::json::parse(embedded_checks_json());
  auto defaults = parse_failures(doc.at("defaults"), "defaults");
  std::vector<CheckInfo> out;
  for (const auto& c : doc.at("checks")) {
    CheckInfo info;
    info.id = c.at("id").get<std::string>();
    info.name = c.at("name").get<std::string>();
    info.expected_s = c.at("expected_s").get<double>();
    info.timeout_s = c.at("timeout_s").get<double>();
    info.suites = c.at("suites").get<std::vector<std::string>>();
    info.failures = defaults;
    for (auto& [k, v] : parse_failures(c.at("failures"), info.id)) info.failures[k] = v;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace

const std::vector<std::string>& suite_names() {
  static const std::vector<std::string> names{"prolog", "lightweight", "intensive", "cluster"};
  return names;
}

Severity CheckInfo::severity_of(const std::string& key) const {
  auto it = failures.find(key);
  if (it == failures.end()) AWSDT_THROW(fmt::format("check '{}' has no failure '{}' in checks.json", id, key));
  return it->second;
}

bool CheckInfo::in_suite(std::string_view suite) const {
  return std::find(suites.begin(), suites.end(), suite) != suites.end();
}

const std::vector<CheckInfo>& check_infos() {
  static const std::vector<CheckInfo> infos = load();
  return infos;
}

const CheckInfo& check_info(std::string_view id) {
  std::vector<std::string> ids;
  for (const auto& c : check_infos()) {
    if (c.id == id) return c;
    ids.push_back(c.id);
  }
  throw UsageError(fmt::format("--check '{}' is not a check; known: {}", id, fmt::join(ids, ", ")));
}

}  // namespace awsdt::health
