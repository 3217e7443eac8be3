// The tests (see transfers.hpp). Side 0 drives and times; side 1 answers. Receives are posted before the peer can
// send into them where the protocol allows, as fi_pingpong and the OSU benchmarks do, so that no message is
// timed through a provider's unexpected-message copy.
#include "transfers.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "pattern.hpp"

namespace awsdt::fabric {
namespace {

using Clock = std::chrono::steady_clock;

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
  // One clock read per round trip: each ends where the next begins.
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    ep.recv(ep.rx(), 0, size, s.tagged);
    ep.send(ep.tx(), 0, size, s.tagged);
    ep.wait_tx(i + 1, "pingpong's ping send");
    ep.wait_rx(i + 1, "pingpong's pong");
    const auto t1 = Clock::now();
    if (times) times->push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    t0 = t1;
  }
}

// bw and rma_write: side 0 puts a window of messages (sends or writes with remote data), side 1 acknowledges.
void window_one_way(Session& s, std::size_t size, int n, bool rma, std::vector<double>* times) {
  auto& ep = s.ep;
  const int w = s.options.window;
  if (s.link.side() == 1) {
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < w; ++k) {
        if (rma)
          ep.recv_ctrl(false);  // a write's remote CQ data consumes an untagged receive
        else
          ep.recv(ep.rx(), slot_offset(s, k), size, s.tagged);
      }
      ep.wait_rx(std::uint64_t(i + 1) * w, rma ? "rma_write's writes" : "bw's messages");
      ep.send_ctrl(s.tagged);
      ep.wait_tx(i + 1, "bw's ack send");
    }
    return;
  }
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    ep.recv_ctrl(s.tagged);
    for (int k = 0; k < w; ++k) {
      if (rma)
        ep.write(slot_offset(s, k), size, s.peer_rx, slot_offset(s, k));
      else
        ep.send(ep.tx(), slot_offset(s, k), size, s.tagged);
    }
    ep.wait_tx(std::uint64_t(i + 1) * w, rma ? "rma_write's writes" : "bw's sends");
    ep.wait_rx(i + 1, "bw's ack");
    if (times) times->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
}

// bibw: both sides send a window and receive one at the same time.
void window_both_ways(Session& s, std::size_t size, int n, std::vector<double>* times) {
  auto& ep = s.ep;
  const int w = s.options.window;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    for (int k = 0; k < w; ++k) ep.recv(ep.rx(), slot_offset(s, k), size, s.tagged);
    for (int k = 0; k < w; ++k) ep.send(ep.tx(), slot_offset(s, k), size, s.tagged);
    ep.wait_tx(std::uint64_t(i + 1) * w, "bibw's sends");
    ep.wait_rx(std::uint64_t(i + 1) * w, "bibw's messages");
    if (times && s.link.side() == 0)
      times->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
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
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    for (int k = 0; k < w; ++k) ep.read(slot_offset(s, k), size, s.peer_tx, slot_offset(s, k));
    ep.wait_tx(std::uint64_t(i + 1) * w, "rma_read's reads");
    if (times) times->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
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
