// What NVML says about this node's GPUs, read through libnvidia-ml loaded at run time (dlopen), so that
// awsdt-healthcheck runs on nodes without GPUs or drivers (validation/common/nvml's loader). Tests load the fake
// NVML instead (--nvml-library).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace awsdt::health {

struct NvLink {
  unsigned link = 0;
  bool active = false;
  std::uint64_t replay = 0, recovery = 0, crc = 0;  ///< error counters (DL replay, recovery, CRC flit + data)
};

/// One GPU; a field NVML does not support on this GPU stays empty.
struct GpuReading {
  unsigned index = 0;
  std::string name;  ///< "NVIDIA H100 80GB HBM3"
  std::optional<bool> persistence;
  std::optional<unsigned> retired_sbe, retired_dbe;  ///< retired pages (pre-Ampere-style page retirement)
  std::optional<bool> retired_pending;
  std::optional<std::uint64_t> volatile_uncorrected;  ///< ECC uncorrected errors since the driver loaded
  std::optional<bool> remap_pending, remap_failure;   ///< row remapping (A100 and later)
  std::vector<NvLink> nvlinks;                        ///< the links NVML reports
};

struct NvmlReading {
  std::string error;  ///< why NVML could not be read ("" when it was)
  std::vector<GpuReading> gpus;
};

/// Loads `library`, initializes NVML and reads every GPU; `with_nvlink` also reads the NVLink states and counters.
NvmlReading read_nvml(const std::string& library, bool with_nvlink);

}  // namespace awsdt::health
