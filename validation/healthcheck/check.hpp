// What a check reads (the node, the settings, what the instance catalog expects) and what it reports (an Outcome:
// failures by key, whose severities come from checks.json, notes and measured values).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "check_data.hpp"
#include "node_root.hpp"
#include "severity.hpp"

namespace awsdt::health {

/// What "healthy" means for this instance type (architectures/instances.json).
struct Expectation {
  std::string instance_type;
  std::string gpu;  ///< the catalog's model, e.g. "H100-SXM5-80GB"
  int gpus = 0, efa = 0;
  bool nvlink = false;
  double peak_bf16_tflops = 0;          ///< per GPU, 0 unknown
  double allreduce_busbw_gbs = 0;       ///< multi-node all_reduce floor, 0 unknown
  double memory_bw_gbs = 0;             ///< each GPU's memory bandwidth (the vendor's figure, GB/s), 0 unknown
  double node_allreduce_busbw_gbs = 0;  ///< one-node (NVLink) all_reduce floor, 0 unknown
};

/// The catalog's entry for `instance_type`, or nullopt when it has none.
std::optional<Expectation> expectation_for(const std::string& instance_type);
/// The instance type: `given` when not empty, else the DMI product name under the root (EC2 Nitro instances
/// report their type there), else "".
std::string detect_instance_type(const NodeRoot& root, const std::string& given);

/// The command line's knobs the checks read.
struct Settings {
  std::string nvml_library = "libnvidia-ml.so.1";  ///< the driver's NVML (nvml::kDefaultLibrary)
  std::vector<std::string> require_mounts;
  double min_shm_gib = 1;
  std::string disk_path = "/";
  double min_free_disk_gib = 10;
  std::uint64_t min_memlock_kib = 16ull << 20;  ///< 16 GiB, the seed's floor
  std::uint64_t min_nofile = 65536;
  std::string efa_provider = "efa";
  double efa_min_gbps = 20;
  double gemm_min_fraction = 0.6;  ///< of the catalog's dense bf16 peak per GPU
  double gemm_min_gflops = 0;      ///< CPU nodes (no catalog peak): the floor in GFLOP/s; 0 = report only
  int gemm_n = 4096;
  std::string dcgmi = "dcgmi";
  double membw_min_fraction = 0.7;          ///< of the catalog's memory bandwidth per GPU
  std::string collectives;                  ///< awsdt-collectives; "" = beside this executable, else on PATH
  std::string mpirun;                       ///< for CPU ranks; "" = the one awsdt was built with, else "mpirun"
  std::uint64_t node_bytes = 256ull << 20;  ///< node-allreduce message size (the seed's NVLink test: 256M)
  int node_iters = 20;
  int node_cpu_ranks = 2;            ///< node-allreduce's ranks on a node without GPUs
  double node_min_busbw_gbs = 0;     ///< 0: the catalog's node_allreduce_busbw_gbs (none: report only)
  double max_clock_error_ms = 1000;  ///< the kernel's maxerror bound on the clock's error
};

/// How gpu-membw reaches the GPUs: how many there are (and why none, when none) and one GPU's device-to-device
/// copy bandwidth in GB/s (bytes read + written per second; throws on a CUDA error). Empty: the core's CUDA device
/// layer (checks/membw.cpp); tests give a fake, as they give a fake NVML.
struct GpuMemoryProbe {
  std::function<int(std::string& why_none)> count;
  std::function<double(int gpu)> copy_gbs;
};

struct Context {
  NodeRoot root;
  Settings settings;
  std::string instance_type;
  std::optional<Expectation> expect;
  GpuMemoryProbe gpu_memory;  ///< gpu-membw's GPUs (empty: the real ones)
};

/// What one check found.
class Outcome {
 public:
  explicit Outcome(const CheckInfo& info) : info_(&info) {}
  /// A failure named in checks.json; its severity comes from there.
  void fail(const std::string& key, const std::string& detail);
  /// A failure whose severity comes from another table (the Xids).
  void fail_with(Severity severity, const std::string& key, const std::string& detail);
  /// The check does not apply here (no GPUs, no dcgmi, ...).
  void skip(const std::string& why);
  void note(const std::string& detail) { notes_.push_back(detail); }
  nlohmann::json& measured() { return measured_; }

  const CheckInfo& info() const { return *info_; }
  /// The worst severity found: PASS without failures, SKIP when skipped.
  Severity severity() const;
  /// PASS, SKIP, WARN (only MONITOR failures) or FAIL.
  std::string status() const;
  /// Failures first, then notes, "; "-separated.
  std::string details() const;
  /// The failure of the worst severity (for a drain reason), or "".
  std::string worst_detail() const;
  nlohmann::json to_json() const;
  /// Rebuilds an outcome from to_json()'s document (results come back from a child process that way).
  static Outcome from_json(const nlohmann::json& j);

 private:
  struct Failure {
    std::string key;
    Severity severity;
    std::string detail;
  };
  const CheckInfo* info_;
  std::vector<Failure> failures_;
  std::vector<std::string> notes_;
  std::optional<std::string> skipped_;
  nlohmann::json measured_ = nlohmann::json::object();
};

using CheckFn = std::function<void(const Context&, Outcome&)>;

}  // namespace awsdt::health
