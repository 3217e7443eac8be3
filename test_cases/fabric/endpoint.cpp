// The libfabric endpoint (see endpoint.hpp).
#include "endpoint.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <unistd.h>

#include <fmt/format.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include "util/error.hpp"

namespace awsdt::fabric {
namespace {

constexpr std::uint64_t kDataTag = 1, kCtrlTag = 2;
constexpr std::size_t kCtrlBytes = 64;

void check(int ret, const std::string& what) {
  if (ret) AWSDT_THROW(fmt::format("libfabric: {} failed: {} ({})", what, fi_strerror(-ret), ret));
}

void close_fid(fid* f) {
  if (f) fi_close(f);
}

}  // namespace

Endpoint::Endpoint(const fi_info& info, std::size_t bytes, const Device& device, double timeout_s,
                   std::size_t in_flight)
    : info_(fi_dupinfo(&info)), contexts_(in_flight + 64), timeout_s_(timeout_s) {
  check(fi_fabric(info_->fabric_attr, &fabric_, nullptr), "fi_fabric");
  check(fi_domain(fabric_, info_.get(), &domain_, nullptr), "fi_domain");
  // As many entries as the receive queue holds (fi_pingpong's size), or more when a window needs it. A larger
  // queue costs in the timed loop: the provider writes its entries in turn, and each page of them is first
  // touched (a page fault) by the completion that reaches it; the contexts ring is kept as small for the same
  // reason (one cache line per operation, in turn).
  fi_cq_attr cq_attr{};
  cq_attr.format = FI_CQ_FORMAT_DATA;
  cq_attr.size = std::max<std::size_t>(info_->rx_attr->size, contexts_.size());
  check(fi_cq_open(domain_, &cq_attr, &cq_, nullptr), "fi_cq_open");
  fi_av_attr av_attr{};
  av_attr.type = FI_AV_TABLE;
  check(fi_av_open(domain_, &av_attr, &av_, nullptr), "fi_av_open");
  check(fi_endpoint(domain_, info_.get(), &ep_, nullptr), "fi_endpoint");
  check(fi_ep_bind(ep_, &cq_->fid, FI_TRANSMIT | FI_RECV), "fi_ep_bind(cq)");
  check(fi_ep_bind(ep_, &av_->fid, 0), "fi_ep_bind(av)");
  check(fi_enable(ep_), "fi_enable");
  register_region(tx_, bytes, device, 1);
  register_region(rx_, bytes, device, 2);
  register_region(ctrl_tx_, kCtrlBytes, Device::cpu(), 3);
  register_region(ctrl_rx_, kCtrlBytes, Device::cpu(), 4);
}

Endpoint::~Endpoint() {
  close_fid(ep_ ? &ep_->fid : nullptr);
  for (auto* r : {&tx_, &rx_, &ctrl_tx_, &ctrl_rx_}) close_fid(r->mr ? &r->mr->fid : nullptr);
  close_fid(av_ ? &av_->fid : nullptr);
  close_fid(cq_ ? &cq_->fid : nullptr);
  close_fid(domain_ ? &domain_->fid : nullptr);
  close_fid(fabric_ ? &fabric_->fid : nullptr);
}

void Endpoint::register_region(Region& r, std::size_t bytes, const Device& device, std::uint64_t key) {
  bytes = std::max<std::size_t>(bytes, 1);
  if (device.is_cuda()) {
    r.memory = Buffer::on(device, bytes);
    r.base = r.memory.as<char>();
  } else {
    // Host buffers start on a page, as fi_pingpong's do, and every page is written now. Memory never written reads
    // as the kernel's one shared zero page: a sender whose buffer is untouched (every timed iteration without -c)
    // would have shm's CMA path (process_vm_readv) copy from that one cached 4 KiB page instead of from memory,
    // and report a bandwidth no real buffer reaches.
    const auto page = std::size_t(::sysconf(_SC_PAGESIZE));
    r.memory = Buffer::on(device, bytes + page);
    r.base = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(r.memory.data()) + page - 1) / page * page);
    std::memset(r.base, 0, bytes);
  }
  iovec iov{r.base, bytes};
  fi_mr_attr attr{};
  attr.mr_iov = &iov;
  attr.iov_count = 1;
  attr.access = FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
  attr.requested_key = key;  // used only where the provider does not choose keys (no FI_MR_PROV_KEY)
  attr.iface = device.is_cuda() ? FI_HMEM_CUDA : FI_HMEM_SYSTEM;
  if (device.is_cuda()) attr.device.cuda = device.index;
  check(fi_mr_regattr(domain_, &attr, 0, &r.mr), "fi_mr_regattr");
  r.desc = fi_mr_desc(r.mr);
  r.key = fi_mr_key(r.mr);
}

std::vector<std::uint8_t> Endpoint::address() const {
  std::vector<std::uint8_t> name(256);
  std::size_t len = name.size();
  check(fi_getname(&ep_->fid, name.data(), &len), "fi_getname");
  name.resize(len);
  return name;
}

void Endpoint::set_peer(const std::vector<std::uint8_t>& address) {
  if (fi_av_insert(av_, address.data(), 1, &peer_, 0, nullptr) != 1) AWSDT_THROW("libfabric: fi_av_insert failed");
}

RemoteRegion Endpoint::remote_view(Region& r) const {
  bool virt = (info_->domain_attr->mr_mode & FI_MR_VIRT_ADDR) != 0;
  return {virt ? reinterpret_cast<std::uint64_t>(r.base) : 0, r.key};
}

void* Endpoint::next_context() {
  auto* c = &contexts_[next_context_];
  if (++next_context_ == contexts_.size()) next_context_ = 0;
  return c;
}

// Posts `op`. The first try is all a message costs when the provider has room: no clock read, no deadline (a
// latency test would measure them on every message, which fi_pingpong does not do).
template <class Post>
void Endpoint::post(Post&& op, const char* what) {
  ssize_t ret = op();
  if (ret == 0) [[likely]]
    return;
  if (ret != -FI_EAGAIN) check(int(ret), what);
  post_busy(op, what);
}

// The provider's queues are full: drive progress and retry until they are not, or until -T says the peer is gone.
template <class Post>
void Endpoint::post_busy(Post& op, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s_ > 0 ? timeout_s_ : 1e9);
  for (long spins = 0;; ++spins) {
    poll();
    ssize_t ret = op();
    if (ret == 0) return;
    if (ret != -FI_EAGAIN) check(int(ret), what);
    if ((spins & 1023) == 0 && std::chrono::steady_clock::now() > deadline)
      AWSDT_THROW(fmt::format("{} stayed busy for {:g} s (-T): is the peer still there?", what, timeout_s_));
  }
}

void Endpoint::send(Region& r, std::size_t off, std::size_t len, bool tagged) {
  // fi_pingpong injects what fits: small messages complete at once, without a completion entry.
  if (len <= info_->tx_attr->inject_size && !r.memory.device().is_cuda()) {
    post(
        [&] {
          return tagged ? fi_tinject(ep_, r.at(off), len, peer_, kDataTag) : fi_inject(ep_, r.at(off), len, peer_);
        },
        "fi_inject");
    ++tx_done_;
    return;
  }
  post(
      [&] {
        void* ctx = next_context();
        return tagged ? fi_tsend(ep_, r.at(off), len, r.desc, peer_, kDataTag, ctx)
                      : fi_send(ep_, r.at(off), len, r.desc, peer_, ctx);
      },
      "fi_send");
}

void Endpoint::recv(Region& r, std::size_t off, std::size_t len, bool tagged) {
  post(
      [&] {
        void* ctx = next_context();
        return tagged ? fi_trecv(ep_, r.at(off), len, r.desc, FI_ADDR_UNSPEC, kDataTag, 0, ctx)
                      : fi_recv(ep_, r.at(off), len, r.desc, FI_ADDR_UNSPEC, ctx);
      },
      "fi_recv");
}

void Endpoint::send_ctrl(bool tagged) {
  post(
      [&] {
        void* ctx = next_context();
        return tagged ? fi_tsend(ep_, ctrl_tx_.at(0), 4, ctrl_tx_.desc, peer_, kCtrlTag, ctx)
                      : fi_send(ep_, ctrl_tx_.at(0), 4, ctrl_tx_.desc, peer_, ctx);
      },
      "fi_send(ack)");
}

void Endpoint::recv_ctrl(bool tagged) {
  post(
      [&] {
        void* ctx = next_context();
        return tagged ? fi_trecv(ep_, ctrl_rx_.at(0), kCtrlBytes, ctrl_rx_.desc, FI_ADDR_UNSPEC, kCtrlTag, 0, ctx)
                      : fi_recv(ep_, ctrl_rx_.at(0), kCtrlBytes, ctrl_rx_.desc, FI_ADDR_UNSPEC, ctx);
      },
      "fi_recv(ack)");
}

void Endpoint::write(std::size_t off, std::size_t len, const RemoteRegion& remote, std::size_t remote_off) {
  post(
      [&] {
        return fi_writedata(ep_, tx_.at(off), len, tx_.desc, 0, peer_, remote.base + remote_off, remote.key,
                            next_context());
      },
      "fi_writedata");
}

void Endpoint::read(std::size_t off, std::size_t len, const RemoteRegion& remote, std::size_t remote_off) {
  post(
      [&] {
        return fi_read(ep_, rx_.at(off), len, rx_.desc, peer_, remote.base + remote_off, remote.key, next_context());
      },
      "fi_read");
}

void Endpoint::poll() {
  fi_cq_data_entry entries[16];
  ssize_t n = fi_cq_read(cq_, entries, 16);
  if (n > 0) {
    for (ssize_t k = 0; k < n; ++k) {
      // A write's data at its target, and a receive, are the receive side; everything else this side posted.
      if (entries[k].flags & (FI_RECV | FI_REMOTE_CQ_DATA | FI_REMOTE_WRITE))
        ++rx_done_;
      else
        ++tx_done_;
    }
    return;
  }
  if (n == -FI_EAGAIN) return;
  if (n == -FI_EAVAIL) {
    fi_cq_err_entry err{};
    fi_cq_readerr(cq_, &err, 0);
    AWSDT_THROW(fmt::format("libfabric: an operation failed: {} ({})", fi_strerror(int(err.err)),
                            fi_cq_strerror(cq_, err.prov_errno, err.err_data, nullptr, 0)));
  }
  check(int(n), "fi_cq_read");
}

void Endpoint::wait(const std::uint64_t& counter, std::uint64_t n, const char* what) {
  // The clock is first read after 4096 polls: a completion that comes sooner (every small message's) costs no
  // clock read, which a latency test would otherwise measure.
  std::chrono::steady_clock::time_point start{};
  for (long spins = 0; counter < n; ++spins) {
    poll();
    if ((spins & 4095) != 4095) continue;
    if (start == std::chrono::steady_clock::time_point{}) start = std::chrono::steady_clock::now();
    if (alive_) alive_();
    if (timeout_s_ > 0 && std::chrono::steady_clock::now() - start > std::chrono::duration<double>(timeout_s_))
      AWSDT_THROW(fmt::format("no completion for {} after {:g} s (-T/--timeout): the peer is gone or stuck ({} of {})",
                              what, timeout_s_, counter, n));
  }
}

void Endpoint::wait_tx(std::uint64_t n, const char* what) { wait(tx_done_, n, what); }
void Endpoint::wait_rx(std::uint64_t n, const char* what) { wait(rx_done_, n, what); }
void Endpoint::reset_counts() { tx_done_ = rx_done_ = 0; }

}  // namespace awsdt::fabric
