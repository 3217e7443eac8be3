// Harness (see harness.hpp).
#include "harness.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "bench/loop.hpp"
#include "bench/sizes.hpp"
#include "kernels/fill.hpp"
#include "util/error.hpp"

namespace awsdt::collectives {
namespace {

constexpr std::uint32_t kTimingSeed = 1;
constexpr std::uint32_t kCheckSeed = 7;  // differs from timing so a stale buffer cannot pass the check

// Per-process state: one communicator, stream and pair of buffers per device this process drives.
struct Lane {
  Communicator* comm;
  Stream stream;
  Buffer send, recv;
};

// Pointers for one launch on a lane, out of place or in place.
struct Pointers {
  void* send;
  void* recv;
};

Pointers pointers(Lane& lane, const Collective& c, const Params& p, bool in_place) {
  if (!in_place) return {lane.send.data(), lane.recv.data()};
  auto layout = c.in_place(p);
  auto base = lane.recv.as<char>();
  auto esize = dtype_size(p.type);
  return {base + layout.send * esize, base + layout.recv * esize};
}

Params params_for(const Lane& lane, const Collective& c, DataType type, ReduceOp op, int root, std::size_t count) {
  Params p;
  p.rank = lane.comm->rank();
  p.nranks = lane.comm->size();
  p.root = root;
  p.type = type;
  p.op = op;
  p.counts = c.counts(count, p.nranks);
  return p;
}

void fill_inputs(std::vector<Lane>& lanes, const std::vector<Params>& ps, const Collective& c, bool in_place,
                 std::uint32_t seed) {
  for (std::size_t k = 0; k < lanes.size(); ++k) {
    auto pattern = kernels::pattern_for(ps[k].type, c.reduces, ps[k].op, seed, ps[k].nranks);
    auto ptr = pointers(lanes[k], c, ps[k], in_place);
    kernels::fill_pattern(ptr.send, ps[k].counts.send, ps[k].type, pattern, ps[k].rank, 0, lanes[k].stream);
  }
}

void launch_all(std::vector<Lane>& lanes, const std::vector<Params>& ps, const Collective& c, bool in_place) {
  // One process driving several GPUs must issue each operation on all of them inside one group.
  bool group = lanes.size() > 1;
  if (group) lanes[0].comm->group_start();
  for (std::size_t k = 0; k < lanes.size(); ++k) {
    auto ptr = pointers(lanes[k], c, ps[k], in_place);
    c.launch(*lanes[k].comm, ptr.send, ptr.recv, ps[k], lanes[k].stream);
  }
  if (group) lanes[0].comm->group_end();
}

double reduce_time(const RankSpread& s, int mode) {
  switch (mode) {
    case 0: return s.values.at(0);
    case 2: return s.min;
    case 3: return s.max;
    default: return s.mean;
  }
}

std::int64_t check(std::vector<Lane>& lanes, const std::vector<Params>& ps, const Collective& c, bool in_place,
                   const Options& o, std::uint32_t seed) {
  fill_inputs(lanes, ps, c, in_place, seed);
  for (std::size_t k = 0; k < lanes.size(); ++k) {
    auto ptr = pointers(lanes[k], c, ps[k], in_place);
    if (!in_place) memset_async(ptr.recv, 0x5a, ps[k].counts.recv * dtype_size(ps[k].type), lanes[k].stream);
  }
  launch_all(lanes, ps, c, in_place);
  std::int64_t wrong = 0;
  for (std::size_t k = 0; k < lanes.size(); ++k) {
    synchronize_or_throw(lanes[k].stream, o.timeout_s, "the correctness check");
    std::size_t n = 0;
    auto pattern = kernels::pattern_for(ps[k].type, c.reduces, ps[k].op, seed, ps[k].nranks);
    auto expect = c.expectation(ps[k], pattern, &n);
    auto ptr = pointers(lanes[k], c, ps[k], in_place);
    if (o.corrupt_for_test && n > 0) {  // rank r spoils r + 1 elements, spread out: the count is summed over ranks
      const std::size_t bad = std::min<std::size_t>(n, std::size_t(ps[k].rank) + 1), esize = dtype_size(ps[k].type);
      for (std::size_t j = 0; j < bad; ++j)  // 0xff bytes: never a valid expected value
        memset_async(static_cast<char*>(ptr.recv) + j * (n / bad) * esize, 0xff, esize, lanes[k].stream);
    }
    wrong += std::int64_t(kernels::count_mismatches(ptr.recv, n, ps[k].type, expect, lanes[k].stream));
  }
  return wrong;
}

Measurement measure(std::vector<Lane>& lanes, const std::vector<Params>& ps, const Collective& c, bool in_place,
                    bool checkable, const Options& o, Bootstrap& boot) {
  fill_inputs(lanes, ps, c, in_place, kTimingSeed);
  std::vector<Stream> streams;
  for (auto& l : lanes) streams.push_back(l.stream);
  LoopConfig loop;
  loop.warmup = o.warmup;
  loop.iters = o.iters;
  loop.per_iteration = o.per_iteration;
  loop.blocking = o.blocking;
  loop.graph_launches = o.graph_launches;
  loop.timeout_s = o.timeout_s;
  // -C: the host time from issuing the first timed iteration to the return of the last one (nccl-tests' cputime;
  // on CPU streams the operations run as they are issued, so it includes them).
  bool timing = false;
  std::chrono::steady_clock::time_point first_issue, last_return;
  loop.before_timing = [&boot, &timing] {
    boot.all_gather_bytes({});  // a barrier of every rank
    timing = true;
  };
  auto samples = time_loop(streams, loop, [&](int i) {
    if (timing && i == 0) first_issue = std::chrono::steady_clock::now();
    // -m: several operations per iteration, issued together in one group, as nccl-tests aggregates them.
    const bool group = o.agg_iters > 1;
    if (group) lanes[0].comm->group_start();
    for (int a = 0; a < o.agg_iters; ++a) launch_all(lanes, ps, c, in_place);
    if (group) lanes[0].comm->group_end();
    if (timing) last_return = std::chrono::steady_clock::now();
  });

  Measurement m;
  double mine = 0;
  for (double s : samples) mine += s;
  mine /= double(samples.size());
  if (o.report_cputime)
    mine = std::chrono::duration<double, std::micro>(last_return - first_issue).count() / double(o.iters);
  mine /= double(o.agg_iters);  // per operation
  for (double& s : samples) s /= double(o.agg_iters);
  m.spread = reduce_across_ranks(boot, mine);
  m.time_us = reduce_time(m.spread, o.average);
  double bytes = double(ps[0].counts.param) * double(dtype_size(ps[0].type)) * c.algbw_bytes_factor(ps[0].nranks);
  m.algbw = m.time_us > 0 ? bytes / 1e3 / m.time_us : 0;  // B/us -> GB/s
  m.busbw = m.algbw * c.busbw_factor(ps[0].nranks);
  if (o.per_iteration) {
    auto all = all_gather_values(boot, samples);
    std::size_t n = samples.size();
    m.iteration_times_us.assign(n, 0.0);
    for (std::size_t r = 0; r < all.size() / n; ++r)
      for (std::size_t i = 0; i < n; ++i) m.iteration_times_us[i] = std::max(m.iteration_times_us[i], all[r * n + i]);
    m.per_iteration = summarize(m.iteration_times_us);
  }
  if (o.check > 0 && checkable) {
    // -c N: N checks, each on fresh data, stopping at the first that finds a wrong element (nccl-tests' -c).
    for (int k = 0; k < o.check; ++k) {
      double wrong = double(check(lanes, ps, c, in_place, o, kCheckSeed + std::uint32_t(k)));
      auto sum = all_gather_values(boot, std::span<const double>(&wrong, 1));
      m.wrong = 0;
      for (double w : sum) m.wrong += std::int64_t(w);
      if (m.wrong > 0) break;
    }
  }
  return m;
}

}  // namespace

std::vector<std::uint64_t> sizes(const Options& o) {
  return size_sweep(o.min_bytes, o.max_bytes, o.step_factor, o.step_bytes);
}

std::vector<Row> run_cases(const Options& o, CommWorld& world, RowSink& sink) {
  std::vector<const Collective*> selected;
  for (const auto& name : o.collectives) {
    if (name == "all")
      for (const auto& c : all_collectives()) selected.push_back(&c);
    else
      selected.push_back(&find_collective(name));
  }
  int nranks = world.comm().size();
  for (auto* c : selected)
    if (c->rooted && (o.root < 0 || o.root >= nranks))
      throw UsageError(fmt::format("-r/--root {} is out of range for {} ranks (0..{})", o.root, nranks, nranks - 1));

  std::vector<Lane> lanes;
  for (auto& comm : world.comms)
    lanes.push_back({comm.get(), Stream(comm->device()), Buffer::on(comm->device(), o.max_bytes),
                     Buffer::on(comm->device(), o.max_bytes)});

  std::vector<Row> rows;
  const CommCapabilities caps = world.comm().capabilities();
  for (auto* c : selected) {
    sink.begin_collective(*c);
    for (DataType type : o.dtypes) {
      std::vector<ReduceOp> ops = c->reduces ? o.ops : std::vector<ReduceOp>{ReduceOp::sum};
      for (ReduceOp op : ops) {
        // -N: the sizes again, each cycle measured and printed (nccl-tests' run cycles).
        for (int cycle = 0; cycle < o.run_cycles; ++cycle)
          for (auto bytes : sizes(o)) {
            std::size_t count = bytes / dtype_size(type);
            std::vector<Params> ps;
            for (auto& l : lanes) ps.push_back(params_for(l, *c, type, op, o.root, count));
            Row row;
            row.collective = c;
            row.type = type;
            row.redop = c->reduces ? std::string(op_name(op)) : "none";
            row.root = c->rooted ? o.root : -1;
            row.count = ps[0].counts.param;
            row.bytes = std::max(ps[0].counts.send, ps[0].counts.recv) * dtype_size(type);
            row.out_of_place = measure(lanes, ps, *c, false, true, o, *world.bootstrap);
            // nccl-tests times the in-place run of all_to_all and send_recv on NCCL too (one buffer, sent from and
            // received into: its contents are undefined, so #wrong is N/A) and counts it in the average busbw.
            const bool defined = c->in_place_defined(caps);
            if (defined || caps.runs_undefined_in_place)
              row.in_place = measure(lanes, ps, *c, true, defined, o, *world.bootstrap);
            sink.row(row);
            rows.push_back(std::move(row));
          }
      }
    }
  }
  return rows;
}

}  // namespace awsdt::collectives
