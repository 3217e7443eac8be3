// Manifest loading (see manifest.hpp).
#include "manifest.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "awsdt/config.hpp"
#include "util/env.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

Manifest load_manifest(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw UsageError(fmt::format("cannot read manifest '{}'", file.string()));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("manifest '{}' is not valid JSON: {}", file.string(), e.what()));
  }
  Manifest m;
  m.path = file;
  try {
    m.name = j.at("name").get<std::string>();
    m.executable = j.at("executable").get<std::string>();
    m.description = j.at("description").get<std::string>();
    m.default_args = j.value("default_args", std::vector<std::string>{});
    m.cluster_args = j.value("cluster_args", std::vector<std::string>{});
    m.subcommands = j.value("subcommands", std::vector<std::string>{});
    auto r = j.value("resources", nlohmann::json::object());
    m.tasks_per_node = r.value("tasks_per_node", 1);
    m.gpus_per_node = r.value("gpus_per_node", 0);
    m.local_ranks = r.value("local_ranks", 2);
    m.one_rank_per_node = r.value("one_rank_per_node", false);
    m.metrics = j.value("metrics", std::vector<std::string>{});
    m.result_flag = j.value("result_flag", "");
    m.checkpoint_flag = j.value("checkpoint_flag", "");
    m.check_args_flag = j.value("check_args_flag", "");
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("manifest '{}': {} (needs name, executable, description)", file.string(), e.what()));
  }
  if (m.name.empty() || m.executable.empty())
    throw UsageError(fmt::format("manifest '{}': name and executable must not be empty", file.string()));
  if (!m.checkpoint_flag.empty() && !m.checkpoint_flag.starts_with("-"))
    throw UsageError(fmt::format("manifest '{}': checkpoint_flag '{}' must be an option starting with -", file.string(),
                                 m.checkpoint_flag));
  if (m.local_ranks < 1)
    throw UsageError(
        fmt::format("manifest '{}': resources.local_ranks {} must be at least 1", file.string(), m.local_ranks));
  return m;
}

std::vector<fs::path> test_cases_dir(const std::string& override_dir) {
  if (!override_dir.empty()) {
    if (!fs::is_directory(override_dir))
      throw UsageError(fmt::format("--test-cases '{}' is not a directory", override_dir));
    return {override_dir};
  }
  fs::path home = env_string("AWSDT_HOME").value_or(AWSDT_SOURCE_DIR);
  std::vector<fs::path> dirs{home / "test_cases"};
  if (fs::is_directory(home / "validation")) dirs.push_back(home / "validation");  // awsdt-healthcheck & co.
  return dirs;
}

std::vector<Manifest> find_manifests(const fs::path& dir) {
  std::vector<Manifest> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory() && fs::exists(entry.path() / "test_case.json"))
      out.push_back(load_manifest(entry.path() / "test_case.json"));
  if (ec) throw UsageError(fmt::format("cannot list test cases in '{}': {}", dir.string(), ec.message()));
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) { return a.name < b.name; });
  return out;
}

std::vector<Manifest> find_manifests(const std::vector<fs::path>& dirs) {
  std::vector<Manifest> out;
  for (const auto& dir : dirs) {
    auto some = find_manifests(dir);
    out.insert(out.end(), some.begin(), some.end());
  }
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) { return a.name < b.name; });
  return out;
}

Manifest find_manifest(const fs::path& dir, const std::string& name) {
  return find_manifest(std::vector<fs::path>{dir}, name);
}

Manifest find_manifest(const std::vector<fs::path>& dirs, const std::string& name) {
  auto all = find_manifests(dirs);
  std::vector<std::string> names;
  for (auto& m : all) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  std::vector<std::string> where(dirs.begin(), dirs.end());
  throw UsageError(
      fmt::format("unknown test case '{}'; known: {} (from {})", name, fmt::join(names, ", "), fmt::join(where, ", ")));
}

}  // namespace awsdt::launcher
