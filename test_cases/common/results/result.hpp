// The one result document every benchmark writes (docs/architecture.md, results/): what ran, where, with which versions
// and settings, the rows measured, a summary and the pass/fail of its checks. Round-trips through JSON.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awsdt {

struct Check {
  std::string name;
  bool passed = true;
  std::string detail;
};

struct ResultDocument {
  static constexpr int kSchemaVersion = 1;
  int schema_version = kSchemaVersion;
  std::string benchmark;
  std::string awsdt_version;
  std::string git_sha;
  nlohmann::json versions = nlohmann::json::object();  ///< compile/run-time versions (see versions.hpp)
  std::vector<std::string> argv;
  std::map<std::string, std::string> environment;  ///< filtered: NCCL_*, FI_*, CUDA_*, OMPI_*, SLURM_*, ...
  std::vector<std::string> hosts;                  ///< host of each rank
  int world_size = 1;
  std::string backend;
  std::string started_at;  ///< ISO 8601 UTC
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json summary = nlohmann::json::object();
  std::vector<Check> checks;
  /// Benchmark-specific top-level keys written beside ours (e.g. nccl-tests' -J fields); never overrides ours.
  nlohmann::json extra = nlohmann::json::object();

  /// True when every check passed.
  bool passed() const;
  void add_check(std::string name, bool passed, std::string detail = {});
};

/// A document pre-filled with this process's identity: version, git sha, versions, argv, environment, time.
ResultDocument make_result_document(std::string benchmark, int argc, char** argv);

void to_json(nlohmann::json& j, const Check& c);
void from_json(const nlohmann::json& j, Check& c);
void to_json(nlohmann::json& j, const ResultDocument& d);
/// Throws awsdt::Error naming the missing or mistyped field, and on a schema_version it does not know.
void from_json(const nlohmann::json& j, ResultDocument& d);

/// Prints each failed check on stderr as "PROGRAM: check failed: NAME: DETAIL"; returns the exit status the
/// document calls for (0 when every check passed, 1 otherwise).
int report_checks(const ResultDocument& doc, const char* program);

/// Writes the document to `path` atomically (a reader never sees half a file).
void write_result_document(const ResultDocument& doc, const std::string& path);
ResultDocument read_result_document(const std::string& path);

}  // namespace awsdt
