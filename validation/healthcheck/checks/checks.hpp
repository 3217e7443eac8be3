// Every check's function and the registry pairing them with checks.json's ids (one place lists them all).
#pragma once

#include <string_view>

#include "check.hpp"

namespace awsdt::health {

void check_gpu_inventory(const Context& ctx, Outcome& out);
void check_gpu_ecc(const Context& ctx, Outcome& out);
void check_gpu_xid(const Context& ctx, Outcome& out);
void check_efa_devices(const Context& ctx, Outcome& out);
void check_efa_provider(const Context& ctx, Outcome& out);
void check_shm(const Context& ctx, Outcome& out);
void check_mounts(const Context& ctx, Outcome& out);
void check_nvlink(const Context& ctx, Outcome& out);
void check_fabric_manager(const Context& ctx, Outcome& out);
void check_disk(const Context& ctx, Outcome& out);
void check_limits(const Context& ctx, Outcome& out);
void check_dcgm_l2(const Context& ctx, Outcome& out);
void check_dcgm_l4(const Context& ctx, Outcome& out);
void check_gemm(const Context& ctx, Outcome& out);
void check_efa_loopback(const Context& ctx, Outcome& out);
void check_clock(const Context& ctx, Outcome& out);
void check_gpu_membw(const Context& ctx, Outcome& out);
void check_node_allreduce(const Context& ctx, Outcome& out);

/// The function of a node check (every id of checks.json but cluster-allreduce, which runs across ranks: see
/// cluster.hpp); throws Error for an id without one.
CheckFn check_function(std::string_view id);

}  // namespace awsdt::health
