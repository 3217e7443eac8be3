// Each CPU rank's default thread count: its affinity mask's CPUs over the ranks of its host that share them.
#include <gtest/gtest.h>

#include <sched.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/cpu_share.hpp"

using namespace awsdt;

namespace {

std::vector<std::uint8_t> cpus(std::initializer_list<int> list) {
  std::vector<std::uint8_t> mask(CPU_SETSIZE / 8, 0);
  for (int c : list) mask[std::size_t(c / 8)] |= std::uint8_t(1u << (c % 8));
  return mask;
}

std::vector<std::uint8_t> range(int first, int count) {
  std::vector<std::uint8_t> mask(CPU_SETSIZE / 8, 0);
  for (int c = first; c < first + count; ++c) mask[std::size_t(c / 8)] |= std::uint8_t(1u << (c % 8));
  return mask;
}

}  // namespace

TEST(CpuShare, UnboundRanksSplitTheirHostsCpus) {
  // mpirun --bind-to none, srun --cpu-bind=none, torchrun: every rank may run anywhere on its node.
  const auto all = range(0, 2);
  const CpuShare s = cpu_share({all, all}, {"a", "a"}, 1);
  EXPECT_EQ(s.cpus, 2);
  EXPECT_EQ(s.sharing, 2);
  EXPECT_EQ(s.threads, 1);
  // 8 ranks on each of two 192-CPU hosts (p5): 24 each; the other host's ranks do not count.
  std::vector<std::vector<std::uint8_t>> masks(16, range(0, 192));
  std::vector<std::string> hosts(8, "node-1");
  hosts.resize(16, "node-2");
  EXPECT_EQ(cpu_share(masks, hosts, 3).threads, 24);
  EXPECT_EQ(cpu_share(masks, hosts, 12).threads, 24);
}

TEST(CpuShare, BoundRanksUseTheirOwnCpus) {
  // mpirun's default for two ranks: one core each, so one thread each, not the machine's count.
  const CpuShare s = cpu_share({cpus({0}), cpus({1})}, {"a", "a"}, 0);
  EXPECT_EQ(s.cpus, 1);
  EXPECT_EQ(s.sharing, 1);
  EXPECT_EQ(s.threads, 1);
  // srun --cpu-bind=cores with 4 CPUs per task: each rank its 4.
  EXPECT_EQ(cpu_share({range(0, 4), range(4, 4), range(8, 4)}, {"a", "a", "a"}, 2).threads, 4);
}

TEST(CpuShare, AContainersCpusetIsSharedByItsRanksAndAnOversubscribedHostGetsOneThreadEach) {
  EXPECT_EQ(cpu_share({range(16, 6), range(16, 6)}, {"a", "a"}, 0).threads, 3);
  const auto two = range(0, 2);
  const CpuShare s = cpu_share({two, two, two}, {"a", "a", "a"}, 0);
  EXPECT_EQ(s.sharing, 3);
  EXPECT_EQ(s.threads, 1);
  // Partly overlapping masks share: 4 CPUs, two ranks on them.
  EXPECT_EQ(cpu_share({range(0, 4), range(2, 4)}, {"a", "a"}, 0).threads, 2);
}
