// The instance catalog (architectures/instances.json) and the EFA environment presets (architectures/env/).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace awsdt::launcher {

struct InstanceType {
  std::string name, gpu;
  int gpus = 0, gpu_memory_gib = 0, efa = 0, vcpus = 0, memory_gib = 0;
  bool nvlink = false;
  double peak_bf16_tflops = 0;
  /// "p5" for "p5.48xlarge".
  std::string family() const { return name.substr(0, name.find('.')); }
};

struct PresetVar {
  std::string name, value, reason;
};

class Catalog {
 public:
  /// Loads instances.json and env/*.json from `architectures_dir`; throws UsageError naming a bad file.
  static Catalog load(const std::filesystem::path& architectures_dir);
  /// The instance (EC2 name, or SageMaker's "ml." + EC2 name), or nullopt; find_or_throw names the known types.
  std::optional<InstanceType> find(const std::string& name) const;
  const InstanceType& find_or_throw(const std::string& name) const;
  /// The EFA/NCCL environment for this instance type (empty without EFA), with reasons.
  std::vector<PresetVar> environment_for(const InstanceType& type) const;

 private:
  std::map<std::string, InstanceType> instances_;
  std::vector<PresetVar> efa_;
  std::vector<std::string> rdma_families_;
  std::vector<PresetVar> rdma_;
};

/// Where architectures/ lives: $AWSDT_HOME/architectures, else the source tree awsdt was built from.
std::filesystem::path architectures_dir();

}  // namespace awsdt::launcher
