// How much memory this process may still take, and the up-front check of a size that flags chose (a model, a
// GEMM shape) against it: a run that cannot fit is refused in one line naming the flags, not ended by the
// kernel's OOM killer (or an allocation failure) minutes later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace awsdt {

/// Bytes this process can still allocate: the host's MemAvailable (/proc/meminfo), or less where a cgroup
/// (v2 memory.max, v1 memory.limit_in_bytes) caps it; nullopt when neither can be read.
std::optional<std::uint64_t> available_memory();

/// Throws UsageError "WHAT: needs at least N GiB of memory per rank (DETAIL), but this host has M GiB
/// available" when `bytes` (a lower bound of what the run allocates on one rank, computed in floating point so
/// that no product of huge flags overflows) exceeds available_memory(). Does nothing when that is unknown.
void require_memory(double bytes, const std::string& what, const std::string& detail);

}  // namespace awsdt
