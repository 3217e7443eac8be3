// The peer watch's star of TCP connections (see peer_watch.hpp).
#include "comm/bootstrap/peer_watch.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "comm/bootstrap/bootstrap.hpp"
#include "util/error.hpp"

namespace awsdt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t kHello = 0x61777077;     // "awpw": a peer's first word, and rank 0's answer
constexpr std::uint32_t kLost = 0x6c6f7374;      // "lost" + rank: rank 0 tells the others which peer ended
constexpr std::uint32_t kFarewell = 0x66617265;  // "fare": this process leaves on an error it reported
constexpr std::uint32_t kBye = 0x62796521;       // "bye!": the clean end's barrier
constexpr auto kConnectTimeout = std::chrono::seconds(2);
constexpr auto kSetupTimeout = std::chrono::seconds(20);
constexpr auto kEndTimeout = std::chrono::minutes(5);

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, int(std::min<long long>(left, 1000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

bool send_words(int fd, std::initializer_list<std::uint32_t> words) {
  std::vector<std::uint32_t> w(words);
  const auto n = w.size() * sizeof(std::uint32_t);
  return ::send(fd, w.data(), n, MSG_DONTWAIT | MSG_NOSIGNAL) == ssize_t(n);
}

// One word before the deadline; nullopt on timeout, end of stream or error.
std::optional<std::uint32_t> recv_word(int fd, Clock::time_point deadline) {
  std::uint32_t w = 0;
  std::size_t got = 0;
  while (got < sizeof(w)) {
    if (!wait_fd(fd, POLLIN, deadline)) return std::nullopt;
    ssize_t k = ::recv(fd, reinterpret_cast<char*>(&w) + got, sizeof(w) - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return std::nullopt;
    got += std::size_t(k);
  }
  return w;
}

// The words a peer wrote before it hung up (never blocks).
std::vector<std::uint32_t> pending_words(int fd) {
  std::vector<std::uint32_t> words;
  std::uint32_t w;
  while (::recv(fd, &w, sizeof(w), MSG_DONTWAIT | MSG_WAITALL) == ssize_t(sizeof(w))) words.push_back(w);
  return words;
}

// A connection to addr:port within kConnectTimeout, answered with kHello after ours (so that a stranger
// listening on the port is not taken for rank 0); -1 when not.
int connect_to(in_addr addr, std::uint16_t port, int rank) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = addr;
  sa.sin_port = htons(port);
  const auto deadline = Clock::now() + kConnectTimeout;
  int err = 0;
  socklen_t len = sizeof(err);
  if ((::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 &&
       (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline) ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) ||
      !send_words(fd, {kHello, std::uint32_t(rank)}) || recv_word(fd, deadline) != kHello) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// This host's IPv4 addresses, those of interfaces that are up, loopback last.
std::vector<in_addr> own_addresses() {
  std::vector<in_addr> out, loopback;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {};
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
    auto a = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr;
    (i->ifa_flags & IFF_LOOPBACK ? loopback : out).push_back(a);
  }
  ::freeifaddrs(list);
  out.insert(out.end(), loopback.begin(), loopback.end());
  return out;
}

}  // namespace

struct PeerWatch::State {
  int rank = 0, size = 1;
  std::vector<std::string> hosts;
  std::vector<int> peers;  // rank 0: a connection per peer (peers[0] unused); others: peers[0], rank 0's
  std::thread watcher;
  int stop_pipe[2] = {-1, -1};
  std::atomic<bool> leaving{false};
  bool keep_open = false;  // a farewell: the connections close when the process ends, not before

  ~State() {
    for (int fd : peers)
      if (fd >= 0 && !keep_open) ::close(fd);
    for (int fd : stop_pipe)
      if (fd >= 0) ::close(fd);
  }
  std::string name(int r) const {
    return fmt::format("rank {} on {}", r, r >= 0 && r < int(hosts.size()) ? hosts[r] : std::string("?"));
  }
  std::vector<int> open_fds() const {
    std::vector<int> fds;
    for (int fd : peers)
      if (fd >= 0) fds.push_back(fd);
    return fds;
  }

  // Rank 0: poll reports every peer's hang-up (POLLRDHUP); the others watch rank 0, which names the lost peer
  // to them before it ends itself.
  void watch(const std::function<void(const std::string&)>& on_lost) {
    std::vector<pollfd> fds{{stop_pipe[0], POLLIN, 0}};
    std::vector<int> ranks{-1};
    for (int r = 0; r < int(peers.size()); ++r)
      if (peers[r] >= 0) {
        fds.push_back({peers[r], POLLRDHUP, 0});
        ranks.push_back(rank == 0 ? r : 0);
      }
    for (;;) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents || leaving) return;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR))) continue;
        int lost = ranks[i];
        auto words = pending_words(fds[i].fd);
        bool farewell = !words.empty() && words.back() == kFarewell;
        if (rank == 0) {
          for (int r = 1; r < size; ++r)
            if (r != lost && peers[r] >= 0) send_words(peers[r], {kLost, std::uint32_t(lost)});
        } else {
          for (std::size_t k = 0; k + 1 < words.size(); ++k)
            if (words[k] == kLost && words[k + 1] < std::uint32_t(size)) {
              lost = int(words[k + 1]);
              farewell = false;  // rank 0 saw it; how that peer left, rank 0 has already waited for
            }
        }
        // A peer that failed on an error it reported (bad input fails every rank alike, a moment apart, and
        // only rank 0 prints it): give this rank a second to reach the same error and leave with its own line.
        if (farewell) std::this_thread::sleep_for(std::chrono::seconds(1));
        if (leaving) return;
        on_lost(fmt::format("{} ended before the job did; ending rank {} on {}", name(lost), rank,
                            rank < int(hosts.size()) ? hosts[rank] : host_name()));
        return;
      }
    }
  }

  // The clean end: every peer tells rank 0 it is done and waits for its answer, so that no connection closes
  // before every rank has stopped watching. A peer that is gone (or failed) ends the wait.
  void barrier() {
    const auto deadline = Clock::now() + kEndTimeout;
    if (rank != 0) {
      if (send_words(peers[0], {kBye})) (void)recv_word(peers[0], deadline);
      return;
    }
    for (int r = 1; r < size; ++r)
      if (peers[r] < 0 || recv_word(peers[r], deadline) != kBye) return;
    for (int r = 1; r < size; ++r) send_words(peers[r], {kBye});
  }
};

PeerWatch::PeerWatch(std::unique_ptr<State> state) : s_(std::move(state)) {}

std::unique_ptr<PeerWatch> PeerWatch::connect(int rank, int size, std::vector<std::string> hosts,
                                              const Broadcast& broadcast, const AllTrue& all_true) {
  auto s = std::make_unique<State>();
  s->rank = rank;
  s->size = size;
  s->hosts = std::move(hosts);
  bool ok = true;
  std::string why;
  int listener = -1;
  std::vector<std::uint8_t> blob;
  if (rank == 0) {
    // The blob: port (2 bytes, network order), then 4 bytes per address.
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof(sa);
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        ::listen(listener, 1024) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ok = false;
      why = fmt::format("cannot listen: {}", std::strerror(errno));
    } else {
      blob.resize(2);
      std::memcpy(blob.data(), &sa.sin_port, 2);
      for (auto a : own_addresses()) {
        blob.resize(blob.size() + 4);
        std::memcpy(blob.data() + blob.size() - 4, &a, 4);
      }
    }
  }
  blob = broadcast(blob);
  s->peers.assign(rank == 0 ? size : 1, -1);
  if (rank == 0 && ok) {
    const auto deadline = Clock::now() + kSetupTimeout;
    for (int joined = 1; joined < size;) {
      if (!wait_fd(listener, POLLIN, deadline)) {
        ok = false;
        why = fmt::format("{} of {} peers connected within {} s", joined - 1, size - 1, kSetupTimeout.count());
        break;
      }
      int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const auto hello_deadline = std::min(deadline, Clock::now() + kConnectTimeout);
      auto hello = recv_word(fd, hello_deadline);
      auto r = recv_word(fd, hello_deadline);
      if (hello != kHello || !r || *r == 0 || *r >= std::uint32_t(size) || s->peers[*r] >= 0 ||
          !send_words(fd, {kHello})) {
        ::close(fd);  // not one of ours
        continue;
      }
      s->peers[*r] = fd;
      ++joined;
    }
  } else if (rank != 0 && blob.size() >= 2) {
    std::uint16_t port;
    std::memcpy(&port, blob.data(), 2);
    std::vector<in_addr> addresses;
    for (std::size_t i = 2; i + 4 <= blob.size(); i += 4) {
      in_addr a;
      std::memcpy(&a, blob.data() + i, 4);
      addresses.push_back(a);
    }
    // On rank 0's host, loopback first.
    if (!s->hosts.empty() && s->hosts[0] == host_name())
      addresses.insert(addresses.begin(), in_addr{htonl(INADDR_LOOPBACK)});
    for (auto a : addresses)
      if ((s->peers[0] = connect_to(a, ntohs(port), rank)) >= 0) break;
    ok = s->peers[0] >= 0;
  } else if (rank != 0) {
    ok = false;
  }
  if (listener >= 0) ::close(listener);
  if (!all_true(ok)) {
    if (rank == 0)
      std::fprintf(stderr, "awsdt: warning: no peer watch (%s): a lost rank will not be named by its peers\n",
                   why.empty() ? "a rank could not reach rank 0 over TCP" : why.c_str());
    return nullptr;
  }
  for (int fd : s->open_fds()) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  return std::unique_ptr<PeerWatch>(new PeerWatch(std::move(s)));
}

void PeerWatch::start(std::function<void(const std::string& what)> on_lost) {
  if (s_->watcher.joinable()) return;
  if (::pipe2(s_->stop_pipe, O_CLOEXEC) != 0) AWSDT_THROW(fmt::format("pipe failed: {}", std::strerror(errno)));
  s_->watcher = std::thread([s = s_.get(), on_lost = std::move(on_lost)] { s->watch(on_lost); });
}

PeerWatch::~PeerWatch() {
  s_->leaving = true;
  if (std::uncaught_exceptions() == 0) {
    s_->barrier();
  } else {
    // The connections stay open until the process ends: a rank that waits to print its error (guarded_main)
    // is not taken for gone before it has, and its peers learn of the farewell when it has left.
    for (int fd : s_->open_fds()) send_words(fd, {kFarewell});
    s_->keep_open = true;
  }
  if (s_->watcher.joinable()) {
    const char stop = 0;
    (void)!::write(s_->stop_pipe[1], &stop, 1);
    s_->watcher.join();
  }
}

std::unique_ptr<PeerWatch> start_peer_watch(Bootstrap& bootstrap,
                                            std::function<void(const std::string& what)> on_lost) {
  if (bootstrap.size() == 1) return nullptr;
  auto watch = PeerWatch::connect(
      bootstrap.rank(), bootstrap.size(), bootstrap.hosts(),
      [&](const std::vector<std::uint8_t>& blob) { return bootstrap.broadcast_from_root(blob); },
      [&](bool mine) {
        const auto all = bootstrap.all_gather_bytes({std::uint8_t(mine ? 1 : 0)});
        return std::all_of(all.begin(), all.end(), [](std::uint8_t v) { return v != 0; });
      });
  if (watch) watch->start(std::move(on_lost));
  return watch;
}

}  // namespace awsdt
