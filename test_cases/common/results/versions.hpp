// Compile-time and run-time versions of everything that decides how fast a cluster communicates:
// CUDA runtime and driver, NCCL, MPI, libfabric and its providers, the EFA installer.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace awsdt {

struct ComponentVersion {
  std::string component;
  std::string compiled;  ///< version this awsdt was built against ("-" when not built with it)
  std::string runtime;   ///< version found now ("-" when absent)
  std::string detail;    ///< e.g. libfabric providers
};

std::vector<ComponentVersion> collect_versions();
/// {"cuda_runtime": {"compiled": ..., "runtime": ..., "detail": ...}, ...}
nlohmann::json versions_json(const std::vector<ComponentVersion>& versions);

}  // namespace awsdt
