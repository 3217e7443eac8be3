// One RDM endpoint with its fabric, domain, completion queue, address vector and registered buffers: the side of
// a test that lives in this process (two of them with --loopback). Operations are posted to the one peer; their
// completions are counted (transmit side, receive side) as the CQ is polled, and every wait has a deadline so a
// peer that is gone ends the run with a line instead of a hang.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>

#include "device/device.hpp"
#include "provider.hpp"

namespace awsdt::fabric {

/// A registered buffer: `slots` regions of `stride` bytes. In host memory it starts on a page and every page has
/// been written before it is registered (see register_region).
struct Region {
  Buffer memory;
  char* base = nullptr;  ///< the first registered byte
  fid_mr* mr = nullptr;
  void* desc = nullptr;
  std::uint64_t key = 0;
  char* at(std::size_t offset) { return base + offset; }
};

/// Where a peer's region is, as an RMA operation names it.
struct RemoteRegion {
  std::uint64_t base = 0;  ///< virtual address, or 0 when the provider addresses by offset
  std::uint64_t key = 0;
};

class Endpoint {
 public:
  /// Opens everything on `info` and registers tx and rx buffers of `bytes` each on `device` (CPU or CUDA).
  /// `in_flight`: the most operations the tests have posted and not yet completed at once (both ways, acks too);
  /// the completion queue and the ring of operation contexts are sized for it, and no larger.
  Endpoint(const fi_info& info, std::size_t bytes, const Device& device, double timeout_s, std::size_t in_flight);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  std::vector<std::uint8_t> address() const;
  void set_peer(const std::vector<std::uint8_t>& address);
  RemoteRegion remote_view(Region& region) const;
  const fi_info& info() const { return *info_; }
  Region& tx() { return tx_; }
  Region& rx() { return rx_; }
  /// Called while waiting; throws to end a wait (--loopback: the other side failed).
  void set_alive_check(std::function<void()> check) { alive_ = std::move(check); }

  void send(Region& r, std::size_t offset, std::size_t len, bool tagged);
  void recv(Region& r, std::size_t offset, std::size_t len, bool tagged);
  /// Small control messages (acks) on their own buffers; tagged apart from data when `tagged`.
  void send_ctrl(bool tagged);
  void recv_ctrl(bool tagged);
  /// fi_writedata: the target sees a receive completion when the data has landed.
  void write(std::size_t offset, std::size_t len, const RemoteRegion& remote, std::size_t remote_offset);
  void read(std::size_t offset, std::size_t len, const RemoteRegion& remote, std::size_t remote_offset);

  /// Waits until `n` transmit (send, write, read) / receive completions have been counted since the last reset.
  void wait_tx(std::uint64_t n, const char* what);
  void wait_rx(std::uint64_t n, const char* what);
  void reset_counts();

 private:
  template <class Post>
  void post(Post&& op, const char* what);
  template <class Post>
  void post_busy(Post& op, const char* what);
  void poll();
  void wait(const std::uint64_t& counter, std::uint64_t n, const char* what);
  void* next_context();
  void register_region(Region& r, std::size_t bytes, const Device& device, std::uint64_t key);

  InfoPtr info_;
  fid_fabric* fabric_ = nullptr;
  fid_domain* domain_ = nullptr;
  fid_cq* cq_ = nullptr;
  fid_av* av_ = nullptr;
  fid_ep* ep_ = nullptr;
  fi_addr_t peer_ = FI_ADDR_UNSPEC;
  Region tx_, rx_, ctrl_tx_, ctrl_rx_;
  std::vector<fi_context2> contexts_;
  std::size_t next_context_ = 0;
  std::uint64_t tx_done_ = 0, rx_done_ = 0;
  double timeout_s_;
  std::function<void()> alive_;
};

}  // namespace awsdt::fabric
