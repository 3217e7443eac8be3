// The tests themselves: pingpong, bw, bibw, rma_write and rma_read, each as a phase of n iterations run by both
// sides of a Session, and one size's measurement (warm-up, timed iterations, the -c check).
#pragma once

#include <cstdint>
#include <vector>

#include "endpoint.hpp"
#include "link.hpp"
#include "options.hpp"

namespace awsdt::fabric {

struct Session {
  Endpoint& ep;
  Link& link;
  const Options& options;
  bool tagged = false;
  std::size_t stride = 0;  ///< bytes between window slots in the buffers
  std::size_t slots = 1;   ///< distinct window slots (a large message reuses fewer)
  RemoteRegion peer_tx, peer_rx;
};

struct Measured {
  std::vector<double> latency_us;  ///< side 0: time per message of each timed iteration
  std::int64_t wrong = -1;         ///< bytes -c found wrong on both sides (-1: not checked)
};

/// Messages one iteration of `kind` carries, both ways (a pingpong's round trip is 2).
int messages_per_iteration(TestKind kind, int window);
/// Warm-up, timed iterations and (with -c) one checked iteration of `kind` at `size`.
Measured measure(TestKind kind, Session& session, std::size_t size, std::uint32_t check_seed);

}  // namespace awsdt::fabric
