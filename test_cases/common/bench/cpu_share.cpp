// Each rank's share of its host's CPUs (see cpu_share.hpp).
#include "bench/cpu_share.hpp"

#include <sched.h>

#include <algorithm>
#include <bit>

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

std::vector<std::uint8_t> affinity_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<std::uint8_t> mask(CPU_SETSIZE / 8, 0);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {  // unknown: claim CPU 0 only, a share of 1
    mask[0] = 1;
    return mask;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) mask[std::size_t(cpu / 8)] |= std::uint8_t(1u << (cpu % 8));
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
    masks.emplace_back(all.begin() + std::ptrdiff_t(mine.size()) * r, all.begin() + std::ptrdiff_t(mine.size()) * (r + 1));
  return cpu_share(masks, bootstrap.hosts(), bootstrap.rank());
}

}  // namespace awsdt
