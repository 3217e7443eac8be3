// Instance catalog and environment presets (see catalog.hpp).
#include "catalog.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "awsdt/config.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {
nlohmann::json read_json(const fs::path& file) {
  try {
    return nlohmann::json::parse(read_file(file.string()));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("'{}' is not valid JSON: {}", file.string(), e.what()));
  }
}

std::vector<PresetVar> read_vars(const nlohmann::json& j, const fs::path& file) {
  std::vector<PresetVar> out;
  try {
    for (const auto& v : j.at("variables"))
      out.push_back(
          {v.at("name").get<std::string>(), v.at("value").get<std::string>(), v.at("reason").get<std::string>()});
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("'{}': {} (each variable needs name, value, reason)", file.string(), e.what()));
  }
  return out;
}
}  // namespace

fs::path architectures_dir() {
  if (auto home = env_string("AWSDT_HOME")) return fs::path(*home) / "architectures";
  return fs::path(AWSDT_SOURCE_DIR) / "architectures";
}

Catalog Catalog::load(const fs::path& dir) {
  Catalog c;
  auto file = dir / "instances.json";
  auto j = read_json(file);
  try {
    for (const auto& [name, v] : j.at("instances").items()) {
      InstanceType t;
      t.name = name;
      t.gpu = v.at("gpu");
      t.gpus = v.at("gpus");
      t.gpu_memory_gib = v.at("gpu_memory_gib");
      t.efa = v.at("efa");
      t.vcpus = v.at("vcpus");
      t.memory_gib = v.at("memory_gib");
      t.nvlink = v.at("nvlink");
      t.peak_bf16_tflops = v.at("peak_bf16_tflops");
      c.instances_[name] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("'{}': {}", file.string(), e.what()));
  }
  c.efa_ = read_vars(read_json(dir / "env" / "efa.json"), dir / "env" / "efa.json");
  auto rdma = read_json(dir / "env" / "rdma.json");
  c.rdma_ = read_vars(rdma, dir / "env" / "rdma.json");
  c.rdma_families_ = rdma.value("families", std::vector<std::string>{});
  return c;
}

namespace {
// SageMaker (HyperPod) names instance types "ml.p5.48xlarge"; the hardware is the EC2 type's.
std::string ec2_name(const std::string& name) { return name.starts_with("ml.") ? name.substr(3) : name; }
}  // namespace

std::optional<InstanceType> Catalog::find(const std::string& name) const {
  auto it = instances_.find(ec2_name(name));
  if (it == instances_.end()) return std::nullopt;
  return it->second;
}

const InstanceType& Catalog::find_or_throw(const std::string& name) const {
  auto it = instances_.find(ec2_name(name));
  if (it != instances_.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, t] : instances_) names.push_back(n);
  throw UsageError(
      fmt::format("--instance-type: unknown instance type '{}'; the catalog knows {}", name, fmt::join(names, ", ")));
}

std::vector<PresetVar> Catalog::environment_for(const InstanceType& type) const {
  if (type.efa == 0) return {};
  auto out = efa_;
  if (std::find(rdma_families_.begin(), rdma_families_.end(), type.family()) != rdma_families_.end())
    out.insert(out.end(), rdma_.begin(), rdma_.end());
  return out;
}

}  // namespace awsdt::launcher
