// The NCCL backend: device memory, operations enqueued on CUDA streams. Built only with CUDA and NCCL.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"
#include "comm/communicator.hpp"

namespace awsdt {

/// One communicator per device in `devices`, all joined into one NCCL world of bootstrap.size()*devices.size()
/// ranks (rank = bootstrap.rank()*devices.size() + i). A single process may drive several GPUs.
std::vector<std::unique_ptr<Communicator>> make_nccl_communicators(Bootstrap& bootstrap,
                                                                   const std::vector<Device>& devices);

/// What a NCCL run says about its network, from NCCL_NET (`nccl_net`, null when unset) and the number of hosts.
/// NCCL_NET pins the network: NCCL fails to start when no network of that name loads, so once the communicators
/// exist it is the one in use (awsdt's EFA environment sets "AWS Libfabric", aws-ofi-nccl's). Unset, NCCL takes
/// a plugin if one loads, else InfiniBand, else TCP sockets, and says which only at NCCL_DEBUG=INFO. Header-only
/// so that CPU builds test it too.
inline std::string nccl_network_line(const char* nccl_net, std::size_t hosts) {
  const std::string one_host =
      hosts <= 1 ? "; every rank is on one host, where NVLink, PCIe or shared memory carry the data" : "";
  if (nccl_net && *nccl_net)
    return "NCCL network: " + std::string(nccl_net) +
           " (NCCL_NET: NCCL does not start without it, so it is the one in use" + one_host + ")";
  if (hosts <= 1) return "NCCL network: none needed, every rank is on one host (NCCL_NET is not set)";
  return "NCCL network: not pinned (NCCL_NET is not set): NCCL uses a network plugin if one loads (aws-ofi-nccl: "
         "EFA), else InfiniBand, else TCP sockets, without an error; NCCL_DEBUG=INFO names it (NET/...)";
}

}  // namespace awsdt
