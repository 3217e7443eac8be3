// torchrun-style bootstrap over TCP: rank 0 listens on MASTER_PORT, every other rank connects, says who it is,
// and receives the host table and later rank 0's blob. Every wait has a deadline, so a missing or dead peer
// becomes an error naming it instead of a hang. A peer that ends mid-job is named by the peer watch
// (peer_watch.hpp), as under MPI launchers: no collective in flight on a GPU would notice it by itself.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "comm/bootstrap/bootstrap.hpp"
#include "comm/bootstrap/peer_watch.hpp"
#include "util/env.hpp"
#include "util/error.hpp"

namespace awsdt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t kMagic = 0x61777364;  // "awsd"

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, int(std::min<long long>(left, 1000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) AWSDT_THROW(fmt::format("poll failed: {}", std::strerror(errno)));
  }
}

// Sends or receives exactly n bytes before the deadline; `who` names the peer in errors.
void send_all(int fd, const void* data, std::size_t n, Clock::time_point deadline, const std::string& who) {
  auto p = static_cast<const char*>(data);
  while (n) {
    if (!wait_fd(fd, POLLOUT, deadline)) AWSDT_THROW(fmt::format("timed out sending to {}", who));
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) AWSDT_THROW(fmt::format("lost connection to {}: {}", who, std::strerror(errno)));
    p += k;
    n -= std::size_t(k);
  }
}

void recv_all(int fd, void* data, std::size_t n, Clock::time_point deadline, const std::string& who) {
  auto p = static_cast<char*>(data);
  while (n) {
    if (!wait_fd(fd, POLLIN, deadline)) AWSDT_THROW(fmt::format("timed out waiting for {}", who));
    ssize_t k = ::recv(fd, p, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0) AWSDT_THROW(fmt::format("{} closed the connection (did it exit or crash?)", who));
    if (k < 0) AWSDT_THROW(fmt::format("lost connection to {}: {}", who, std::strerror(errno)));
    p += k;
    n -= std::size_t(k);
  }
}

void send_u32(int fd, std::uint32_t v, Clock::time_point d, const std::string& who) { send_all(fd, &v, 4, d, who); }
std::uint32_t recv_u32(int fd, Clock::time_point d, const std::string& who) {
  std::uint32_t v;
  recv_all(fd, &v, 4, d, who);
  return v;
}
void send_bytes(int fd, const void* data, std::size_t n, Clock::time_point d, const std::string& who) {
  send_u32(fd, std::uint32_t(n), d, who);
  send_all(fd, data, n, d, who);
}
std::string recv_string(int fd, Clock::time_point d, const std::string& who) {
  auto n = recv_u32(fd, d, who);
  if (n > (1u << 20)) AWSDT_THROW(fmt::format("{} sent a malformed message (length {})", who, n));
  std::string s(n, '\0');
  recv_all(fd, s.data(), n, d, who);
  return s;
}

class EnvBootstrap final : public Bootstrap {
 public:
  explicit EnvBootstrap(std::chrono::milliseconds timeout) : timeout_(timeout) {
    const char* why = "for the environment bootstrap (torchrun convention)";
    addr_ = env_required("MASTER_ADDR", why);
    auto port = env_int("MASTER_PORT");
    auto rank = env_int("RANK");
    auto world = env_int("WORLD_SIZE");
    if (!port) env_required("MASTER_PORT", why);
    if (!rank) env_required("RANK", why);
    if (!world) env_required("WORLD_SIZE", why);
    if (*port <= 0 || *port > 65535) throw UsageError(fmt::format("MASTER_PORT={} is not a TCP port (1-65535)", *port));
    if (*world < 1) throw UsageError(fmt::format("WORLD_SIZE={} must be at least 1", *world));
    if (*rank < 0 || *rank >= *world)
      throw UsageError(fmt::format("RANK={} is out of range for WORLD_SIZE={} (0..{})", *rank, *world, *world - 1));
    port_ = int(*port);
    rank_ = int(*rank);
    size_ = int(*world);
    local_rank_ = int(env_int("LOCAL_RANK").value_or(0));
    set_process_identity(rank_, host_name());
    hosts_.assign(size_, "");
    hosts_[rank_] = host_name();
    if (size_ == 1) return;
    if (rank_ == 0)
      serve();
    else
      join();
  }

  void watch_peers(std::function<void(const std::string& what)> on_lost) override {
    if (!watch_) watch_ = start_peer_watch(*this, std::move(on_lost));
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  const std::vector<std::string>& hosts() const override { return hosts_; }
  std::string name() const override { return "env"; }

  std::vector<std::uint8_t> broadcast_from_root(const std::vector<std::uint8_t>& blob) override {
    auto deadline = Clock::now() + timeout_;
    if (size_ == 1) return blob;
    if (rank_ == 0) {
      for (int r = 1; r < size_; ++r) send_bytes(peers_[r].fd(), blob.data(), blob.size(), deadline, peer_name(r));
      return blob;
    }
    auto s = recv_string(root_.fd(), deadline, root_name());
    return {s.begin(), s.end()};
  }

  std::vector<std::uint8_t> all_gather_bytes(const std::vector<std::uint8_t>& mine) override {
    auto deadline = Clock::now() + timeout_;
    if (size_ == 1) return mine;
    if (rank_ != 0) {
      send_bytes(root_.fd(), mine.data(), mine.size(), deadline, root_name());
      auto s = recv_string(root_.fd(), deadline, root_name());
      return {s.begin(), s.end()};
    }
    std::vector<std::uint8_t> all(mine.begin(), mine.end());
    for (int r = 1; r < size_; ++r) {
      auto s = recv_string(peers_[r].fd(), deadline, peer_name(r));
      if (s.size() != mine.size())
        AWSDT_THROW(fmt::format("{} sent {} bytes to all_gather, rank 0 has {}", peer_name(r), s.size(), mine.size()));
      all.insert(all.end(), s.begin(), s.end());
    }
    for (int r = 1; r < size_; ++r) send_bytes(peers_[r].fd(), all.data(), all.size(), deadline, peer_name(r));
    return all;
  }

 private:
  std::string peer_name(int r) const {
    return fmt::format("rank {} on {}", r, hosts_[r].empty() ? std::string("?") : hosts_[r]);
  }
  std::string root_name() const { return fmt::format("rank 0 at {}:{}", addr_, port_); }

  void serve() {
    Socket listener(::socket(AF_INET, SOCK_STREAM, 0));
    int one = 1;
    ::setsockopt(listener.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = htons(std::uint16_t(port_));
    if (::bind(listener.fd(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      AWSDT_THROW(fmt::format("cannot listen on MASTER_PORT={}: {}", port_, std::strerror(errno)));
    ::listen(listener.fd(), 1024);
    peers_.resize(size_);
    auto deadline = Clock::now() + timeout_;
    int joined = 1;
    while (joined < size_) {
      if (!wait_fd(listener.fd(), POLLIN, deadline)) {
        std::vector<int> missing;
        for (int r = 1; r < size_; ++r)
          if (peers_[r].fd() < 0) missing.push_back(r);
        AWSDT_THROW(fmt::format("rendezvous on port {}: rank(s) {} never connected within {:.1f} s (WORLD_SIZE={})",
                                port_, fmt::join(missing, ","), timeout_.count() / 1000.0, size_));
      }
      Socket peer(::accept(listener.fd(), nullptr, nullptr));
      if (peer.fd() < 0) continue;
      std::string who = "a connecting peer";
      if (recv_u32(peer.fd(), deadline, who) != kMagic) continue;  // not one of ours: ignore it
      auto r = int(recv_u32(peer.fd(), deadline, who));
      auto world = int(recv_u32(peer.fd(), deadline, who));
      auto host = recv_string(peer.fd(), deadline, who);
      if (world != size_)
        AWSDT_THROW(fmt::format("rank {} on {} has WORLD_SIZE={} but rank 0 has {}", r, host, world, size_));
      if (r <= 0 || r >= size_ || peers_[r].fd() >= 0)
        AWSDT_THROW(fmt::format("a peer on {} claims RANK={}, which is {}", host, r,
                                r <= 0 || r >= size_ ? "out of range" : "taken twice"));
      hosts_[r] = host;
      peers_[r] = std::move(peer);
      ++joined;
    }
    // Everyone is here: send the host table.
    for (int r = 1; r < size_; ++r)
      for (int q = 0; q < size_; ++q)
        send_bytes(peers_[r].fd(), hosts_[q].data(), hosts_[q].size(), deadline, peer_name(r));
  }

  void join() {
    auto deadline = Clock::now() + timeout_;
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = ::getaddrinfo(addr_.c_str(), std::to_string(port_).c_str(), &hints, &res); rc != 0)
      throw UsageError(fmt::format("MASTER_ADDR='{}' does not resolve: {}", addr_, gai_strerror(rc)));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
    std::string last_error = "no attempt";
    for (;;) {
      Socket s(::socket(AF_INET, SOCK_STREAM, 0));
      if (::connect(s.fd(), res->ai_addr, res->ai_addrlen) == 0) {
        root_ = std::move(s);
        break;
      }
      last_error = std::strerror(errno);
      if (Clock::now() >= deadline)
        AWSDT_THROW(
            fmt::format("could not reach {} within {:.1f} s: {}", root_name(), timeout_.count() / 1000.0, last_error));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // rank 0 may start later than us
    }
    int one = 1;
    ::setsockopt(root_.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    send_u32(root_.fd(), kMagic, deadline, root_name());
    send_u32(root_.fd(), std::uint32_t(rank_), deadline, root_name());
    send_u32(root_.fd(), std::uint32_t(size_), deadline, root_name());
    send_bytes(root_.fd(), host_name().data(), host_name().size(), deadline, root_name());
    // Rank 0 answers once every rank has arrived; it enforces the timeout for missing ranks itself, so allow it
    // that long plus a margin before deciding rank 0 is gone.
    auto answer_deadline = Clock::now() + 2 * timeout_;
    for (int q = 0; q < size_; ++q) hosts_[q] = recv_string(root_.fd(), answer_deadline, root_name());
  }

  std::chrono::milliseconds timeout_;
  std::string addr_;
  int port_ = 0, rank_ = 0, size_ = 1, local_rank_ = 0;
  std::vector<std::string> hosts_;
  std::vector<Socket> peers_;         // rank 0: one connection per peer
  Socket root_;                       // others: the connection to rank 0
  std::unique_ptr<PeerWatch> watch_;  // last, so that its clean-end barrier runs first
};

}  // namespace

std::unique_ptr<Bootstrap> make_env_bootstrap(std::chrono::milliseconds timeout) {
  return std::make_unique<EnvBootstrap>(timeout);
}

bool launched_by_env() { return env_string("RANK") && env_string("WORLD_SIZE") && env_string("MASTER_ADDR"); }

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MV2_COMM_WORLD_SIZE"})
    if (env_string(v)) return true;
  return false;
}

}  // namespace awsdt
