// Which libfabric provider and domain a run uses, and what fi_getinfo says about them. Everything here asks for
// RDM endpoints (reliable, unconnected: what NCCL's OFI plugin uses on EFA) with FI_MSG and FI_TAGGED.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <rdma/fabric.h>

#include <nlohmann/json_fwd.hpp>

namespace awsdt::fabric {

struct InfoDeleter {
  void operator()(fi_info* info) const { fi_freeinfo(info); }
};
using InfoPtr = std::unique_ptr<fi_info, InfoDeleter>;

/// What to ask fi_getinfo for.
struct Request {
  std::string provider;  ///< a core provider name (efa, shm, tcp, ...)
  std::string domain;    ///< "" = any
  bool hmem = false;     ///< FI_HMEM (GPU buffers)
  bool rma = false;      ///< FI_RMA with remote CQ data
};

/// Providers that offer an RDM endpoint with FI_MSG and FI_TAGGED here, by core name ("tcp" for "tcp;ofi_rxm").
std::vector<std::string> rdm_providers();
/// -p's default: efa when present, else shm when every rank is on one host, else tcp.
std::string default_provider(bool one_host);
/// The first fi_info matching `request`, or null when none does (the caller decides whether that is an error).
InfoPtr find_info(const Request& request);
/// Like find_info, but a provider that does not exist, or has no such endpoint, is a UsageError naming the
/// providers that do.
InfoPtr require_info(const Request& request);
/// The distinct domains of `provider` in fi_getinfo's order (EFA devices; tcp's interfaces).
std::vector<std::string> domains_of(const Request& request);
/// The attributes that matter for performance and correctness: provider, fabric, domain, max message size,
/// inject size, MR mode, HMEM, RMA, CQ data size, message ordering, progress.
nlohmann::json info_json(const fi_info& info);
/// One line of the same, for the table's preamble.
std::string info_line(const fi_info& info);

}  // namespace awsdt::fabric
