// A fake node for the tests: a healthy p5.48xlarge's sysfs, /proc, /dev and kernel log under a temporary directory
// (awsdt-healthcheck --root) and the fake NVML's state (8 H100s, 18 NVLinks each:
// validation/common/nvml/fake_nvml.cpp's format), which a test then breaks.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "check.hpp"

namespace awsdt::health::testing {

class FakeNode {
 public:
  FakeNode();
  ~FakeNode();
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  /// Writes `content` at the node's absolute path `abs` under the root.
  void write(const std::string& abs, const std::string& content);
  void remove(const std::string& abs);
  /// Appends a kernel log line (a /dev/kmsg record).
  void kernel_log(const std::string& line);
  /// The fake NVML's state; save_nvml() writes it where $AWSDT_FAKE_NVML points.
  nlohmann::json nvml;
  void save_nvml() const;
  std::string nvml_file() const { return (dir_ / "nvml.json").string(); }
  /// A context over this node (instance type from its DMI file) with the fake NVML library; saves the NVML state.
  Context context() const;
  /// The awsdt-healthcheck flags that read this node: --root, --nvml-library.
  std::string flags() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace awsdt::health::testing
