// A watch on the other processes of a job, for bootstraps whose launcher does not tell the survivors which rank
// was lost (mpirun and srun end the job, but a survivor only sees a signal or a transport error). A side channel
// of TCP connections, a star around rank 0, set up once: a process that ends closes its connections (the kernel
// does it for a killed one too), rank 0 sees every peer end and names the lost one to the others before it ends
// itself. A process that leaves on an error it reported says so first (a farewell), so that its peers give it
// time to print its own line; a clean end is a barrier over the connections, so no peer mistakes it for a loss.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace awsdt {

class Bootstrap;

class PeerWatch {
 public:
  /// Hands rank 0's bytes to every rank (the argument is ignored elsewhere).
  using Broadcast = std::function<std::vector<std::uint8_t>(const std::vector<std::uint8_t>&)>;
  /// True on every rank when `mine` is true on every rank.
  using AllTrue = std::function<bool(bool mine)>;

  /// Collective. Rank 0 listens on an ephemeral port of every interface and broadcasts the port and its IPv4
  /// addresses; the others connect (loopback first when they share rank 0's host name). Returns nullptr on
  /// every rank when any rank could not connect: there is then no watch, and rank 0 says so in one line.
  static std::unique_ptr<PeerWatch> connect(int rank, int size, std::vector<std::string> hosts,
                                            const Broadcast& broadcast, const AllTrue& all_true);
  /// A clean end (not while an exception unwinds: then a farewell, and the connections close only when the
  /// process ends), and the watcher stopped.
  ~PeerWatch();

  /// From now on, calls `on_lost` once, on a thread of its own, with a line naming the peer that ended before
  /// the job did (its rank and host) and this rank: at once when the peer was killed or crashed, a second later
  /// when it said farewell.
  void start(std::function<void(const std::string& what)> on_lost);

  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;

 private:
  struct State;
  explicit PeerWatch(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

/// Collective: a started watch over `bootstrap`'s ranks (its broadcast and all-gather set it up), or nullptr on
/// one rank or when a rank could not connect. Both bootstraps' watch_peers.
std::unique_ptr<PeerWatch> start_peer_watch(Bootstrap& bootstrap, std::function<void(const std::string& what)> on_lost);

}  // namespace awsdt
