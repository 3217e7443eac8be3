// Each rank's share of its host's CPUs (see cpu_share.hpp).
#include "bench/cpu_share.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "util/error.hpp"

namespace awsdt {
namespace {

int popcount(const std::vector<std::uint8_t>& mask) {
  int n = 0;
  for (std::uint8_t b : mask) n += std::popcount(b);
  return n;
}

bool overlap(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (a[i] & b[i]) return true;
  return false;
}

// Masks of this many bits travel between ranks, whatever the host: glibc's cpu_set_t stops at 1024 CPUs, and
// sched_getaffinity refuses a set smaller than the kernel's CPU count (hosts of 1920 vCPUs exist).
constexpr int kMaskCpus = 8192;

void set_bit(std::vector<std::uint8_t>& mask, long cpu) { mask[std::size_t(cpu / 8)] |= std::uint8_t(1u << (cpu % 8)); }

std::vector<std::uint8_t> affinity_mask() {
  std::vector<std::uint8_t> mask(kMaskCpus / 8, 0);
  cpu_set_t* set = CPU_ALLOC(kMaskCpus);
  const std::size_t size = CPU_ALLOC_SIZE(kMaskCpus);
  CPU_ZERO_S(size, set);
  if (sched_getaffinity(0, size, set) == 0) {
    for (int cpu = 0; cpu < kMaskCpus; ++cpu)
      if (CPU_ISSET_S(cpu, size, set)) set_bit(mask, cpu);
  } else {  // unknown: every online CPU
    const long online = std::clamp(sysconf(_SC_NPROCESSORS_ONLN), 1L, long(kMaskCpus));
    for (long cpu = 0; cpu < online; ++cpu) set_bit(mask, cpu);
  }
  CPU_FREE(set);
  return mask;
}

}  // namespace

CpuShare cpu_share(const std::vector<std::vector<std::uint8_t>>& masks, const std::vector<std::string>& hosts,
                   int rank) {
  AWSDT_CHECK(masks.size() == hosts.size() && rank >= 0 && std::size_t(rank) < masks.size(),
              "cpu_share: one mask and host per rank");
  const auto& mine = masks[std::size_t(rank)];
  CpuShare s;
  s.cpus = std::max(1, popcount(mine));
  s.sharing = 0;
  for (std::size_t r = 0; r < masks.size(); ++r)
    if (hosts[r] == hosts[std::size_t(rank)] && (int(r) == rank || overlap(masks[r], mine))) ++s.sharing;
  s.threads = std::max(1, s.cpus / s.sharing);
  return s;
}

CpuShare cpu_share(Bootstrap& bootstrap) {
  const std::vector<std::uint8_t> mine = affinity_mask();
  const std::vector<std::uint8_t> all = bootstrap.all_gather_bytes(mine);
  const int n = bootstrap.size();
  AWSDT_CHECK(all.size() == mine.size() * std::size_t(n), "cpu_share: gathered masks of the wrong size");
  std::vector<std::vector<std::uint8_t>> masks;
  for (int r = 0; r < n; ++r)
    masks.emplace_back(all.begin() + std::ptrdiff_t(mine.size()) * r,
                       all.begin() + std::ptrdiff_t(mine.size()) * (r + 1));
  return cpu_share(masks, bootstrap.hosts(), bootstrap.rank());
}

int cpu_threads_for_rank(int requested, Bootstrap& bootstrap) {
  if (requested != 0) return requested;
  const CpuShare share = cpu_share(bootstrap);
  const char* env = std::getenv("OMP_NUM_THREADS")        ? "OMP_NUM_THREADS"
                    : std::getenv("OPENBLAS_NUM_THREADS") ? "OPENBLAS_NUM_THREADS"
                                                          : nullptr;
  if (env) {
    spdlog::info("threads: {} from {} ({} CPU(s) in this rank's affinity mask, shared by {} rank(s) of this host)",
                 std::getenv(env), env, share.cpus, share.sharing);
    return 0;
  }
  spdlog::info(
      "threads: {} per rank ({} CPU(s) in this rank's affinity mask, shared by {} rank(s) of this "
      "host; --threads N to choose)",
      share.threads, share.cpus, share.sharing);
  return share.threads;
}

}  // namespace awsdt
