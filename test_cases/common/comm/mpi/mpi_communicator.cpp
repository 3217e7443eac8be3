// MPI backend (see mpi_communicator.hpp). MpiWait::spin runs MPI's blocking collectives on the stream's thread
// (Open MPI's tuned algorithms); MpiWait::poll runs the non-blocking ones and tests them with sleeps in between,
// except all-reduce and reduce-scatter, which are rings over non-blocking point-to-point (ring_collectives.hpp
// says why).
// Inside a group, point-to-point operations are posted non-blocking and completed together so that send/recv
// pairs cannot deadlock.
#include "comm/mpi/mpi_communicator.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>
#include <exception>
#include <functional>

#include <fmt/format.h>

#include "comm/mpi/mpi_runtime.hpp"
#include "comm/mpi/mpi_types.hpp"
#include "comm/mpi/ring_collectives.hpp"
#include "kernels/cpu/reduce.hpp"

namespace awsdt {
namespace {

std::vector<std::string> gather_hosts(MPI_Comm comm, int size) {
  constexpr int kLen = 256;
  std::vector<char> mine(kLen, '\0'), all(std::size_t(kLen) * size);
  std::strncpy(mine.data(), host_name().c_str(), kLen - 1);
  AWSDT_CHECK_MPI(MPI_Allgather(mine.data(), kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, comm));
  std::vector<std::string> hosts;
  for (int r = 0; r < size; ++r) hosts.emplace_back(all.data() + std::size_t(r) * kLen);
  return hosts;
}

int mpi_count(std::size_t count) {
  if (count > std::size_t(INT_MAX))
    throw UsageError(fmt::format("the MPI backend moves at most {} elements per call; {} requested", INT_MAX, count));
  return int(count);
}

// One operation: runs blocking when `deferred` is null, else posts non-blocking requests into it when it can.
using Op = std::function<void(std::vector<MPI_Request>* deferred)>;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, MpiWait wait) : comm_(comm), wait_(wait) {
    AWSDT_CHECK_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    AWSDT_CHECK_MPI(MPI_Comm_rank(comm_, &rank_));
    AWSDT_CHECK_MPI(MPI_Comm_size(comm_, &size_));
    hosts_ = gather_hosts(comm_, size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    // Freeing while an exception unwinds could wait on a dead peer; the process is about to abort anyway.
    if (!finalized && std::uncaught_exceptions() == 0) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const Device& device() const override { return device_; }
  std::string_view backend() const override { return "mpi"; }
  const std::vector<std::string>& hosts() const override { return hosts_; }

  void all_reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                  Stream& stream) override {
    int n = mpi_count(count);
    issue(stream, [=, this](std::vector<MPI_Request>*) {
      if (wait_ == MpiWait::spin) {
        const void* src = send == recv ? MPI_IN_PLACE : send;
        AWSDT_CHECK_MPI(MPI_Allreduce(src, recv, n, mpi::datatype(type), mpi::reduction(type, op), comm_));
      } else {
        mpi::ring_all_reduce(send, recv, count, type, op, ring());
      }
      if (op == ReduceOp::avg) kernels::cpu::divide_inplace(recv, count, type, size_);
    });
  }

  void all_gather(const void* send, void* recv, std::size_t count, DataType type, Stream& stream) override {
    int n = mpi_count(count);
    issue(stream, [=, this](std::vector<MPI_Request>*) {
      auto own = static_cast<char*>(recv) + std::size_t(rank_) * count * dtype_size(type);
      const void* src = send == own ? MPI_IN_PLACE : send;
      auto t = mpi::datatype(type);
      if (wait_ == MpiWait::spin) {
        AWSDT_CHECK_MPI(MPI_Allgather(src, n, t, recv, n, t, comm_));
      } else {
        MPI_Request req;
        AWSDT_CHECK_MPI(MPI_Iallgather(src, n, t, recv, n, t, comm_, &req));
        poll(&req, 1);
      }
    });
  }

  void reduce_scatter(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                      Stream& stream) override {
    int n = mpi_count(count);
    mpi_count(count * std::size_t(size_));
    issue(stream, [=, this](std::vector<MPI_Request>*) {
      if (wait_ == MpiWait::poll) {
        mpi::ring_reduce_scatter(send, recv, count, type, op, ring());
      } else {
        auto bytes = count * dtype_size(type);
        auto own = static_cast<const char*>(send) + std::size_t(rank_) * bytes;
        auto t = mpi::datatype(type);
        auto r = mpi::reduction(type, op);
        if (recv == own) {
          // In place (NCCL layout: the result stays at this rank's offset). MPI puts it at the start.
          void* base = const_cast<void*>(send);
          AWSDT_CHECK_MPI(MPI_Reduce_scatter_block(MPI_IN_PLACE, base, n, t, r, comm_));
          if (rank_ != 0) std::memmove(recv, base, bytes);
        } else {
          AWSDT_CHECK_MPI(MPI_Reduce_scatter_block(send, recv, n, t, r, comm_));
        }
      }
      if (op == ReduceOp::avg) kernels::cpu::divide_inplace(recv, count, type, size_);
    });
  }

  void all_to_all(const void* send, void* recv, std::size_t count, DataType type, Stream& stream) override {
    int n = mpi_count(count);
    mpi_count(count * std::size_t(size_));
    issue(stream, [=, this](std::vector<MPI_Request>*) {
      auto t = mpi::datatype(type);
      const void* src = send == recv ? MPI_IN_PLACE : send;
      AWSDT_CHECK_MPI(MPI_Alltoall(src, n, t, recv, n, t, comm_));
    });
  }

  void broadcast(const void* send, void* recv, std::size_t count, DataType type, int root, Stream& stream) override {
    int n = mpi_count(count);
    check_peer(root, "root");
    issue(stream, [=, this](std::vector<MPI_Request>*) {
      if (rank_ == root && send != recv) std::memcpy(recv, send, count * dtype_size(type));
      AWSDT_CHECK_MPI(MPI_Bcast(recv, n, mpi::datatype(type), root, comm_));
    });
  }

  void reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op, int root,
              Stream& stream) override {
    int n = mpi_count(count);
    check_peer(root, "root");
    issue(stream, [=, this](std::vector<MPI_Request>*) {
      const void* src = (rank_ == root && send == recv) ? MPI_IN_PLACE : send;
      AWSDT_CHECK_MPI(MPI_Reduce(src, recv, n, mpi::datatype(type), mpi::reduction(type, op), root, comm_));
      if (rank_ == root && op == ReduceOp::avg) kernels::cpu::divide_inplace(recv, count, type, size_);
    });
  }

  void send(const void* buf, std::size_t count, DataType type, int peer, Stream& stream) override {
    int n = mpi_count(count);
    check_peer(peer, "peer");
    issue(stream, [=, this](std::vector<MPI_Request>* deferred) {
      auto t = mpi::datatype(type);
      if (!deferred) {
        AWSDT_CHECK_MPI(MPI_Send(buf, n, t, peer, kTag, comm_));
        return;
      }
      AWSDT_CHECK_MPI(MPI_Isend(buf, n, t, peer, kTag, comm_, &deferred->emplace_back()));
    });
  }

  void recv(void* buf, std::size_t count, DataType type, int peer, Stream& stream) override {
    int n = mpi_count(count);
    check_peer(peer, "peer");
    issue(stream, [=, this](std::vector<MPI_Request>* deferred) {
      auto t = mpi::datatype(type);
      if (!deferred) {
        AWSDT_CHECK_MPI(MPI_Recv(buf, n, t, peer, kTag, comm_, MPI_STATUS_IGNORE));
        return;
      }
      AWSDT_CHECK_MPI(MPI_Irecv(buf, n, t, peer, kTag, comm_, &deferred->emplace_back()));
    });
  }

  void barrier(Stream& stream) override {
    issue(stream, [this](std::vector<MPI_Request>*) { AWSDT_CHECK_MPI(MPI_Barrier(comm_)); });
  }

  void group_start() override { ++group_depth_; }

  void group_end() override {
    AWSDT_CHECK(group_depth_ > 0, "group_end without group_start");
    if (--group_depth_ > 0 || group_ops_.empty()) return;
    auto ops = std::move(group_ops_);
    group_ops_.clear();
    Stream stream = group_stream_;
    group_stream_ = Stream();
    stream.enqueue([ops = std::move(ops), wait = wait_] {
      std::vector<MPI_Request> requests;
      for (const auto& op : ops) op(&requests);
      if (requests.empty()) return;
      // MPI_Waitall spins: with poll, the core goes back to the compute threads while the peer is late.
      if (wait == MpiWait::poll) return poll(requests.data(), int(requests.size()));
      AWSDT_CHECK_MPI(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE));
    });
  }

  std::unique_ptr<Communicator> split(int color, int key) override {
    MPI_Comm child;
    AWSDT_CHECK_MPI(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &child));
    if (child == MPI_COMM_NULL) return nullptr;
    return std::make_unique<MpiCommunicator>(child, wait_);
  }

  void abort() noexcept override { MPI_Abort(MPI_COMM_WORLD, 1); }
  std::function<void()> abort_action() const override {
    return [] { MPI_Abort(MPI_COMM_WORLD, 1); };
  }

 private:
  static constexpr int kTag = 0x4157;
  static constexpr int kRingTag = 0x4158;  // the ring collectives' messages, apart from send/recv's

  mpi::RingContext ring() { return {comm_, kRingTag, poll, &ring_scratch_}; }

  // MpiWait::poll: a few quick tests catch a peer that is already there; after that, each test (which also
  // drives the transfer) is followed by a sleep that hands the core to the compute threads. The sleep doubles
  // from 50 µs up to 400 µs: a peer that is late is usually late by a unit's compute, and every wake-up
  // preempts a compute thread (on a machine whose cores all compute, 20,000 wake-ups a second cost more than
  // the few hundred µs of detection latency).
  static void poll(MPI_Request* requests, int count) {
    int done = 0;
    auto pause = std::chrono::microseconds(50);
    for (int tries = 0;; ++tries) {
      AWSDT_CHECK_MPI(MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE));
      if (done) return;
      if (tries < 32) continue;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(400));
    }
  }

  void check_peer(int peer, const char* what) const {
    if (peer < 0 || peer >= size_)
      throw UsageError(fmt::format("{} {} is out of range for {} ranks (0..{})", what, peer, size_, size_ - 1));
  }

  // Runs `op` now when already on the stream's thread (no allocation: the loop-as-one-task fast path), queues
  // it on the stream otherwise, or holds it for group_end inside a group.
  template <class F>
  void issue(Stream& stream, F&& op) {
    AWSDT_CHECK(!stream.device().is_cuda(), "the MPI backend needs a CPU stream and host buffers");
    if (group_depth_ == 0) {
      if (stream.runs_here()) return op(nullptr);
      stream.enqueue([op = std::forward<F>(op)] { op(nullptr); });
      return;
    }
    if (!group_stream_) group_stream_ = stream;
    group_ops_.emplace_back(std::forward<F>(op));
  }

  MPI_Comm comm_;
  MpiWait wait_;
  int rank_ = 0, size_ = 1;
  Device device_ = Device::cpu();
  std::vector<std::string> hosts_;
  std::vector<std::byte> ring_scratch_;  // the ring collectives' two blocks, kept between calls
  int group_depth_ = 0;
  std::vector<Op> group_ops_;
  Stream group_stream_;
};

}  // namespace

MpiWait parse_mpi_wait(std::string_view name) {
  if (name == "spin") return MpiWait::spin;
  if (name == "poll") return MpiWait::poll;
  throw UsageError(fmt::format("unknown MPI wait mode '{}' (known: spin, poll)", name));
}

std::unique_ptr<Communicator> make_mpi_communicator(MpiWait wait) {
  mpi::ensure_initialized();
  MPI_Comm world;
  AWSDT_CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &world));
  auto comm = std::make_unique<MpiCommunicator>(world, wait);
  set_process_identity(comm->rank(), host_name());
  return comm;
}

}  // namespace awsdt
