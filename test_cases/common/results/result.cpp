// Result document (see result.hpp).
#include "results/result.hpp"

#include <chrono>
#include <ctime>
#include <fstream>

#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "results/versions.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt {

bool ResultDocument::passed() const {
  for (const auto& c : checks)
    if (!c.passed) return false;
  return true;
}

void ResultDocument::add_check(std::string name, bool ok, std::string detail) {
  checks.push_back({std::move(name), ok, std::move(detail)});
}

ResultDocument make_result_document(std::string benchmark, int argc, char** argv) {
  ResultDocument d;
  d.benchmark = std::move(benchmark);
  d.awsdt_version = AWSDT_VERSION;
  d.git_sha = AWSDT_GIT_SHA;
  d.versions = versions_json(collect_versions());
  for (int i = 0; i < argc; ++i) d.argv.emplace_back(argv[i]);
  d.environment = captured_environment();
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  d.started_at = buf;
  return d;
}

void to_json(nlohmann::json& j, const Check& c) { j = {{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}}; }

void from_json(const nlohmann::json& j, Check& c) {
  j.at("name").get_to(c.name);
  j.at("passed").get_to(c.passed);
  c.detail = j.value("detail", "");
}

void to_json(nlohmann::json& j, const ResultDocument& d) {
  j = {{"schema_version", d.schema_version},
       {"benchmark", d.benchmark},
       {"awsdt_version", d.awsdt_version},
       {"git_sha", d.git_sha},
       {"versions", d.versions},
       {"argv", d.argv},
       {"environment", d.environment},
       {"hosts", d.hosts},
       {"world_size", d.world_size},
       {"backend", d.backend},
       {"started_at", d.started_at},
       {"config", d.config},
       {"rows", d.rows},
       {"summary", d.summary},
       {"checks", d.checks},
       {"passed", d.passed()}};
  for (const auto& [key, value] : d.extra.items())
    if (!j.contains(key)) j[key] = value;
  if (!d.extra.empty())
    j["extra_keys"] = [&] {
      auto keys = nlohmann::json::array();
      for (const auto& [key, value] : d.extra.items()) keys.push_back(key);
      return keys;
    }();
}

void from_json(const nlohmann::json& j, ResultDocument& d) {
  try {
    j.at("schema_version").get_to(d.schema_version);
    if (d.schema_version != ResultDocument::kSchemaVersion)
      AWSDT_THROW(fmt::format("result document has schema_version {}; this awsdt reads version {}", d.schema_version,
                              ResultDocument::kSchemaVersion));
    j.at("benchmark").get_to(d.benchmark);
    j.at("awsdt_version").get_to(d.awsdt_version);
    j.at("git_sha").get_to(d.git_sha);
    d.versions = j.at("versions");
    j.at("argv").get_to(d.argv);
    j.at("environment").get_to(d.environment);
    j.at("hosts").get_to(d.hosts);
    j.at("world_size").get_to(d.world_size);
    j.at("backend").get_to(d.backend);
    j.at("started_at").get_to(d.started_at);
    d.config = j.at("config");
    d.rows = j.at("rows");
    d.summary = j.at("summary");
    j.at("checks").get_to(d.checks);
    for (const auto& key : j.value("extra_keys", nlohmann::json::array()))
      d.extra[key.get<std::string>()] = j.at(key.get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    AWSDT_THROW(fmt::format("malformed result document: {}", e.what()));
  }
}

int report_checks(const ResultDocument& doc, const char* program) {
  for (const auto& c : doc.checks)
    if (!c.passed) fmt::print(stderr, "{}: check failed: {}: {}\n", program, c.name, c.detail);
  return doc.passed() ? 0 : 1;
}

void write_result_document(const ResultDocument& doc, const std::string& path) {
  write_file_atomic(path, nlohmann::json(doc).dump(2) + "\n");
}

ResultDocument read_result_document(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot open result file '{}'", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("result file '{}' is not valid JSON: {}", path, e.what()));
  }
  return j.get<ResultDocument>();
}

}  // namespace awsdt
