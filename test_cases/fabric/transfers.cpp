// The tests (see transfers.hpp). Side 0 drives and times; side 1 answers. Receives are posted before the peer can
// send into them where the protocol allows, as fi_pingpong and the OSU benchmarks do, so that no message is
// timed through a provider's unexpected-message copy.
#include "transfers.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "pattern.hpp"

namespace awsdt::fabric {
namespace {

using Clock = std::chrono::steady_clock;

// A counter that costs a few nanoseconds to read and never goes back: the TSC on x86-64, the virtual counter on
// aarch64, elsewhere steady_clock. Its rate does not matter: Stopwatch calibrates it against steady_clock.
inline std::uint64_t ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#elif defined(__aarch64__)
  std::uint64_t v;
  asm volatile("mrs %0, cntvct_el0" : "=r"(v));
  return v;
#else
  return std::uint64_t(Clock::now().time_since_epoch().count());
#endif
}

// Times a phase of n iterations as fi_pingpong times its loop: steady_clock once before the first iteration and
// once after the last, so the mean per iteration is the loop's time over n. Each iteration's own time (for min,
// p50, p99, max) comes from one counter read as it ends, into memory reserved before the loop; the counter is
// converted to microseconds at the rate the two clock reads give, so the iterations add up to the loop's time.
// Without `times` (warm-up, the other side, -c's iteration) it reads nothing.
class Stopwatch {
 public:
  Stopwatch(std::vector<double>* times, int n) : times_(times) {
    if (times_) ticks_.resize(std::size_t(n) + 1);
  }
  void start() {
    if (!times_) return;
    begin_ = Clock::now();
    ticks_[0] = ticks();
  }
  /// Iteration `i` (0-based) has ended.
  void lap(int i) {
    if (times_) ticks_[std::size_t(i) + 1] = ticks();
  }
  void stop() {
    if (!times_) return;
    const double total_us = std::chrono::duration<double, std::micro>(Clock::now() - begin_).count();
    const auto span = ticks_.back() - ticks_.front();
    const double us_per_tick = span > 0 ? total_us / double(span) : 0;
    times_->reserve(times_->size() + ticks_.size() - 1);
    for (std::size_t i = 1; i < ticks_.size(); ++i) times_->push_back(double(ticks_[i] - ticks_[i - 1]) * us_per_tick);
  }

 private:
  std::vector<double>* times_;
  std::vector<std::uint64_t> ticks_;
  Clock::time_point begin_{};
};

std::size_t slot_offset(const Session& s, int k) { return std::size_t(k) % s.slots * s.stride; }

// One pingpong phase of n round trips; `times` (side 0) gets each round trip in microseconds.
void pingpong(Session& s, std::size_t size, int n, std::vector<double>* times) {
  auto& ep = s.ep;
  if (s.link.side() == 1) {
    ep.recv(ep.rx(), 0, size, s.tagged);
    for (int i = 0; i < n; ++i) {
      ep.wait_rx(i + 1, "pingpong's ping");
      if (i + 1 < n) ep.recv(ep.rx(), 0, size, s.tagged);  // ready before the next ping can come
      ep.send(ep.tx(), 0, size, s.tagged);
      ep.wait_tx(i + 1, "pingpong's pong send");
    }
    return;
  }
  // The loop does what fi_pingpong's does per round trip (post a receive, inject or send, wait for both
  // completions), plus one counter read.
  Stopwatch watch(times, n);
  watch.start();
  for (int i = 0; i < n; ++i) {
    ep.recv(ep.rx(), 0, size, s.tagged);
    ep.send(ep.tx(), 0, size, s.tagged);
    ep.wait_tx(i + 1, "pingpong's ping send");
    ep.wait_rx(i + 1, "pingpong's pong");
    watch.lap(i);
  }
  watch.stop();
}

// bw and rma_write: side 0 puts a window of messages (sends or writes with remote data), side 1 acknowledges.
void window_one_way(Session& s, std::size_t size, int n, bool rma, std::vector<double>* times) {
  auto& ep = s.ep;
  const int w = s.options.window;
  if (s.link.side() == 1) {
    for (int i = 0; i < n; ++i) {
      // A write's remote CQ data consumes no receive: the hints do not accept FI_RX_CQ_DATA, so no provider used
      // here needs one (receives posted for it would pile up, phase after phase, until the provider had no room).
      if (!rma)
        for (int k = 0; k < w; ++k) ep.recv(ep.rx(), slot_offset(s, k), size, s.tagged);
      ep.wait_rx(std::uint64_t(i + 1) * w, rma ? "rma_write's writes" : "bw's messages");
      ep.send_ctrl(s.tagged);
      ep.wait_tx(i + 1, "bw's ack send");
    }
    return;
  }
  Stopwatch watch(times, n);
  watch.start();
  for (int i = 0; i < n; ++i) {
    ep.recv_ctrl(s.tagged);
    for (int k = 0; k < w; ++k) {
      if (rma)
        ep.write(slot_offset(s, k), size, s.peer_rx, slot_offset(s, k));
      else
        ep.send(ep.tx(), slot_offset(s, k), size, s.tagged);
    }
    ep.wait_tx(std::uint64_t(i + 1) * w, rma ? "rma_write's writes" : "bw's sends");
    ep.wait_rx(i + 1, "bw's ack");
    watch.lap(i);
  }
  watch.stop();
}

// bibw: both sides send a window and receive one at the same time.
void window_both_ways(Session& s, std::size_t size, int n, std::vector<double>* times) {
  auto& ep = s.ep;
  const int w = s.options.window;
  Stopwatch watch(s.link.side() == 0 ? times : nullptr, n);
  watch.start();
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < w; ++k) ep.recv(ep.rx(), slot_offset(s, k), size, s.tagged);
    for (int k = 0; k < w; ++k) ep.send(ep.tx(), slot_offset(s, k), size, s.tagged);
    ep.wait_tx(std::uint64_t(i + 1) * w, "bibw's sends");
    ep.wait_rx(std::uint64_t(i + 1) * w, "bibw's messages");
    watch.lap(i);
  }
  watch.stop();
}

// rma_read: side 0 reads a window from side 1's buffer; side 1 only drives progress until side 0 says done.
void window_read(Session& s, std::size_t size, int n, std::vector<double>* times) {
  auto& ep = s.ep;
  const int w = s.options.window;
  if (s.link.side() == 1) {
    ep.recv_ctrl(s.tagged);
    ep.wait_rx(1, "rma_read's end of phase");
    return;
  }
  Stopwatch watch(times, n);
  watch.start();
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < w; ++k) ep.read(slot_offset(s, k), size, s.peer_tx, slot_offset(s, k));
    ep.wait_tx(std::uint64_t(i + 1) * w, "rma_read's reads");
    watch.lap(i);
  }
  watch.stop();
  ep.send_ctrl(s.tagged);
  ep.wait_tx(std::uint64_t(n) * w + 1, "rma_read's end of phase");
}

void phase(TestKind kind, Session& s, std::size_t size, int n, std::vector<double>* times) {
  s.link.barrier();  // the previous phase has ended on both sides: its completions are all counted
  s.ep.reset_counts();
  switch (kind) {
    case TestKind::pingpong: return pingpong(s, size, n, times);
    case TestKind::bw: return window_one_way(s, size, n, false, times);
    case TestKind::rma_write: return window_one_way(s, size, n, true, times);
    case TestKind::bibw: return window_both_ways(s, size, n, times);
    case TestKind::rma_read: return window_read(s, size, n, times);
  }
}

// Which sides receive data in `kind` (and so check it); the data they check came from the other side.
bool receives(TestKind kind, int side) {
  switch (kind) {
    case TestKind::pingpong:
    case TestKind::bibw: return true;
    case TestKind::bw:
    case TestKind::rma_write: return side == 1;
    case TestKind::rma_read: return side == 0;
  }
  return false;
}

std::int64_t checked_iteration(TestKind kind, Session& s, std::size_t size, std::uint32_t seed) {
  const int side = s.link.side();
  const std::size_t regions = kind == TestKind::pingpong ? 1 : std::min<std::size_t>(s.slots, s.options.window);
  // A region's source: my tx for what I send, my rx (poisoned) for what I receive; rma_read's source is side 1's tx.
  for (std::size_t j = 0; j < regions; ++j) {
    fill_pattern(s.ep.tx(), j * s.stride, size, seed, side, j);
    poison(s.ep.rx(), j * s.stride, size);
  }
  phase(kind, s, size, 1, nullptr);
  s.link.barrier();  // data written into this side by the peer has landed once the peer's phase ended
  if (!receives(kind, side)) return 0;
  std::int64_t wrong = 0;
  for (std::size_t j = 0; j < regions; ++j) {
    if (s.options.corrupt_for_test) corrupt_one(s.ep.rx(), j * s.stride, size);
    wrong += count_wrong(s.ep.rx(), j * s.stride, size, seed, 1 - side, j);
  }
  return wrong;
}

std::int64_t sum_over_sides(Link& link, std::int64_t mine) {
  std::vector<std::uint8_t> bytes(sizeof mine);
  std::memcpy(bytes.data(), &mine, sizeof mine);
  auto peer = link.exchange(bytes);
  std::int64_t theirs = 0;
  std::memcpy(&theirs, peer.data(), sizeof theirs);
  return mine + theirs;
}

}  // namespace

int messages_per_iteration(TestKind kind, int window) {
  switch (kind) {
    case TestKind::pingpong: return 2;
    case TestKind::bibw: return 2 * window;
    default: return window;
  }
}

Measured measure(TestKind kind, Session& s, std::size_t size, std::uint32_t check_seed) {
  Measured m;
  const auto& t = s.options.timing;
  if (t.warmup > 0) phase(kind, s, size, t.warmup, nullptr);
  std::vector<double> times;
  phase(kind, s, size, t.iters, &times);
  const double per = messages_per_iteration(kind, s.options.window);
  for (double us : times) m.latency_us.push_back(us / per);
  if (s.options.check) m.wrong = sum_over_sides(s.link, checked_iteration(kind, s, size, check_seed));
  s.link.barrier();
  return m;
}

}  // namespace awsdt::fabric
