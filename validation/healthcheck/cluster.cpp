// The cluster check (see cluster.hpp).
#include "cluster.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/cross_rank.hpp"
#include "bench/guard.hpp"
#include "bench/options.hpp"
#include "comm/registry.hpp"
#include "health_options.hpp"
#include "kernels/fill.hpp"
#include "kernels/pattern.hpp"

namespace awsdt::health {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSlowDelay = std::chrono::milliseconds(50);

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Link {
  CommWorld& world;
  Communicator& comm;
  Stream& stream;
  bool slow;  // the test hook
  void delay() const {
    if (slow) std::this_thread::sleep_for(kSlowDelay);
  }
};

// all_reduce bus bandwidth (GB/s) over `iters` runs, as nccl-tests defines it: algbw · 2(n-1)/n.
double all_reduce_busbw(Link& l, Buffer& buf, int iters) {
  std::size_t count = buf.bytes() / sizeof(float);
  auto run = [&] {
    l.delay();
    l.comm.all_reduce(buf.data(), buf.data(), count, DataType::f32, ReduceOp::sum, l.stream);
  };
  run();
  l.stream.synchronize();
  l.comm.barrier(l.stream);
  l.stream.synchronize();
  auto t0 = Clock::now();
  for (int i = 0; i < iters; ++i) run();
  l.stream.synchronize();
  double s = seconds_since(t0) / iters;
  int n = l.comm.size();
  return buf.bytes() / s / 1e9 * 2.0 * (n - 1) / n;
}

// Each rank in turn sends to every other; each receiver times its receive. Returns, per rank, the median GB/s
// its peers received from it.
std::vector<double> outbound_bandwidth(Link& l, Buffer& send, Buffer& recv) {
  int n = l.comm.size(), me = l.comm.rank();
  std::size_t count = send.bytes() / sizeof(float);
  std::vector<double> received(n * n, 0.0);  // received[src * n + dst]
  for (int src = 0; src < n; ++src) {
    l.comm.barrier(l.stream);
    l.stream.synchronize();
    auto t0 = Clock::now();
    if (me == src) {
      l.comm.group_start();
      for (int dst = 0; dst < n; ++dst)
        if (dst != src) {
          l.delay();
          l.comm.send(send.data(), count, DataType::f32, dst, l.stream);
        }
      l.comm.group_end();
    } else {
      l.comm.recv(recv.data(), count, DataType::f32, src, l.stream);
    }
    l.stream.synchronize();
    if (me != src) received[src * n + me] = send.bytes() / seconds_since(t0) / 1e9;
  }
  auto all = all_gather_values(*l.world.bootstrap, received);  // every rank's row, concatenated
  std::vector<double> outbound(n);
  for (int src = 0; src < n; ++src) {
    std::vector<double> peers;
    for (int r = 0; r < n; ++r)
      if (r != src) peers.push_back(all[r * n * n + src * n + r]);
    std::nth_element(peers.begin(), peers.begin() + peers.size() / 2, peers.end());
    outbound[src] = peers[peers.size() / 2];
  }
  return outbound;
}

}  // namespace

void add_cluster_options(CLI::App& app, ClusterSettings& s) {
  add_bytes_option(app, "--cluster-bytes", s.bytes, "--cluster-bytes", "cluster suite: message size (default 64M)");
  app.add_option("--cluster-iters", s.iters, "cluster suite: timed all_reduce runs")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--min-busbw-gbs", s.min_busbw_gbs,
                 "cluster suite: all_reduce bus bandwidth floor in GB/s (default: the instance catalog's)")
      ->check(finite(0, 1e6));
  app.add_option("--test-slow-rank", s.test_slow_rank)->group("");  // test hook: a rank whose sends are delayed
}

int slow_outlier(const std::vector<double>& outbound) {
  if (outbound.size() < 2) return -1;
  int worst = static_cast<int>(std::min_element(outbound.begin(), outbound.end()) - outbound.begin());
  std::vector<double> others;
  for (int r = 0; r < static_cast<int>(outbound.size()); ++r)
    if (r != worst) others.push_back(outbound[r]);
  std::nth_element(others.begin(), others.begin() + others.size() / 2, others.end());
  return outbound[worst] < 0.5 * others[others.size() / 2] ? worst : -1;
}

Outcome run_cluster_check(const CheckInfo& info, const Context& ctx, const ClusterSettings& s) {
  CommConfig config;
  config.timeout = std::chrono::seconds(120);
  auto world = make_comm_world(config);
  set_abort_target(world.comm());
  Stream stream(world.comm().device());
  Link l{world, world.comm(), stream, world.comm().rank() == s.test_slow_rank};
  Buffer a = Buffer::on(world.comm().device(), s.bytes), b = Buffer::on(world.comm().device(), s.bytes);
  auto pattern = kernels::pattern_for(DataType::f32, true, ReduceOp::sum, 1, world.comm().size());
  kernels::fill_pattern(a.data(), s.bytes / sizeof(float), DataType::f32, pattern, world.comm().rank(), 0, stream);

  Outcome out(info);
  double busbw = all_reduce_busbw(l, a, s.iters);
  double floor = s.min_busbw_gbs > 0 ? s.min_busbw_gbs : ctx.expect ? ctx.expect->allreduce_busbw_gbs : 0;
  const auto& hosts = world.bootstrap->hosts();
  out.measured()["ranks"] = world.comm().size();
  out.measured()["busbw_gbs"] = busbw;
  out.measured()["floor_gbs"] = floor;
  if (floor <= 0) {
    out.note(fmt::format("all_reduce busbw {:.2f} GB/s over {} ranks (no floor: --min-busbw-gbs)", busbw,
                         world.comm().size()));
    return out;
  }
  if (busbw >= floor) return out;
  out.fail("slow",
           fmt::format("all_reduce busbw {:.2f} GB/s over {} ranks, below {:.2f}", busbw, world.comm().size(), floor));
  auto outbound = outbound_bandwidth(l, a, b);
  for (std::size_t r = 0; r < outbound.size(); ++r)
    out.measured()["outbound_gbs"].push_back({{"rank", r}, {"host", hosts.at(r)}, {"gbs", outbound[r]}});
  if (int r = slow_outlier(outbound); r >= 0)
    out.fail("slowest_node",
             fmt::format("slowest node: rank {} ({}), outbound {:.2f} GB/s", r, hosts.at(r), outbound[r]));
  else
    out.note("pairwise: no single node stands out");
  return out;
}

}  // namespace awsdt::health
