// The one list pairing checks.json's ids with their code.
#include <map>

#include "checks/checks.hpp"
#include "util/error.hpp"

namespace awsdt::health {

CheckFn check_function(std::string_view id) {
  static const std::map<std::string_view, CheckFn> functions{
      {"gpu-inventory", check_gpu_inventory},
      {"gpu-ecc", check_gpu_ecc},
      {"gpu-xid", check_gpu_xid},
      {"efa-devices", check_efa_devices},
      {"efa-provider", check_efa_provider},
      {"shm", check_shm},
      {"mounts", check_mounts},
      {"nvlink", check_nvlink},
      {"fabric-manager", check_fabric_manager},
      {"disk", check_disk},
      {"limits", check_limits},
      {"dcgm-l2", check_dcgm_l2},
      {"dcgm-l4", check_dcgm_l4},
      {"gemm", check_gemm},
      {"efa-loopback", check_efa_loopback},
      {"clock", check_clock},
      {"gpu-membw", check_gpu_membw},
      {"node-allreduce", check_node_allreduce},
  };
  auto it = functions.find(id);
  if (it == functions.end()) AWSDT_THROW("no code for check '" + std::string(id) + "'");
  return it->second;
}

}  // namespace awsdt::health
