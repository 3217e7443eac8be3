// NCCL backend (see nccl_communicator.hpp). Rank 0 creates the unique id; the bootstrap (MPI or the
// torchrun-style TCP rendezvous) hands it to everyone, so a GPU run needs no MPI at run time.
#include "comm/nccl/nccl_communicator.hpp"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>

#include <fmt/format.h>

#include "device/cuda/check_cuda.hpp"

#define AWSDT_CHECK_NCCL(call)                                                                      \
  do {                                                                                              \
    ncclResult_t awsdt_rc_ = (call);                                                                \
    if (awsdt_rc_ != ncclSuccess)                                                                   \
      throw ::awsdt::Error(fmt::format("{} failed: {} ({})", #call, ncclGetErrorString(awsdt_rc_),  \
                                       ncclGetLastError(nullptr) ? ncclGetLastError(nullptr) : ""), \
                           __FILE__, __LINE__);                                                     \
  } while (0)

namespace awsdt {
namespace {

ncclDataType_t nccl_type(DataType t) {
  switch (t) {
    case DataType::f32: return ncclFloat32;
    case DataType::f64: return ncclFloat64;
    case DataType::f16: return ncclFloat16;
    case DataType::bf16: return ncclBfloat16;
    case DataType::i8: return ncclInt8;
    case DataType::u8: return ncclUint8;
    case DataType::i32: return ncclInt32;
    case DataType::u32: return ncclUint32;
    case DataType::i64: return ncclInt64;
    case DataType::u64: return ncclUint64;
  }
  return ncclFloat32;
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return ncclSum;
    case ReduceOp::prod: return ncclProd;
    case ReduceOp::min: return ncclMin;
    case ReduceOp::max: return ncclMax;
    case ReduceOp::avg: return ncclAvg;
  }
  return ncclSum;
}

cudaStream_t cuda_stream(Stream& s) {
  AWSDT_CHECK(s.device().is_cuda(), "the NCCL backend needs a CUDA stream and device buffers");
  return static_cast<cudaStream_t>(s.native_handle());
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, Device device, std::vector<std::string> hosts)
      : comm_(comm), device_(device), hosts_(std::move(hosts)) {
    AWSDT_CHECK_NCCL(ncclCommUserRank(comm_, &rank_));
    AWSDT_CHECK_NCCL(ncclCommCount(comm_, &size_));
  }
  ~NcclCommunicator() override {
    // While an exception unwinds, keep the handle alive for abort_action(): destroying would wait on peers.
    if (comm_ && std::uncaught_exceptions() == 0) ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const Device& device() const override { return device_; }
  std::string_view backend() const override { return "nccl"; }
  CommCapabilities capabilities() const override {
    return {.in_place_all_to_all = false, .runs_undefined_in_place = true, .graph_capture = true};
  }
  const std::vector<std::string>& hosts() const override { return hosts_; }

  void all_reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                  Stream& stream) override {
    AWSDT_CHECK_NCCL(ncclAllReduce(send, recv, count, nccl_type(type), nccl_op(op), comm_, cuda_stream(stream)));
  }
  void all_gather(const void* send, void* recv, std::size_t count, DataType type, Stream& stream) override {
    AWSDT_CHECK_NCCL(ncclAllGather(send, recv, count, nccl_type(type), comm_, cuda_stream(stream)));
  }
  void reduce_scatter(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                      Stream& stream) override {
    AWSDT_CHECK_NCCL(ncclReduceScatter(send, recv, count, nccl_type(type), nccl_op(op), comm_, cuda_stream(stream)));
  }
  void all_to_all(const void* send, void* recv, std::size_t count, DataType type, Stream& stream) override {
    // Grouped send/recv, as nccl-tests does: works with every NCCL version.
    auto bytes = count * dtype_size(type);
    AWSDT_CHECK_NCCL(ncclGroupStart());
    for (int r = 0; r < size_; ++r) {
      AWSDT_CHECK_NCCL(
          ncclSend(static_cast<const char*>(send) + r * bytes, count, nccl_type(type), r, comm_, cuda_stream(stream)));
      AWSDT_CHECK_NCCL(
          ncclRecv(static_cast<char*>(recv) + r * bytes, count, nccl_type(type), r, comm_, cuda_stream(stream)));
    }
    AWSDT_CHECK_NCCL(ncclGroupEnd());
  }
  void broadcast(const void* send, void* recv, std::size_t count, DataType type, int root, Stream& stream) override {
    AWSDT_CHECK_NCCL(ncclBroadcast(send, recv, count, nccl_type(type), root, comm_, cuda_stream(stream)));
  }
  void reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op, int root,
              Stream& stream) override {
    AWSDT_CHECK_NCCL(ncclReduce(send, recv, count, nccl_type(type), nccl_op(op), root, comm_, cuda_stream(stream)));
  }
  void send(const void* buf, std::size_t count, DataType type, int peer, Stream& stream) override {
    AWSDT_CHECK_NCCL(ncclSend(buf, count, nccl_type(type), peer, comm_, cuda_stream(stream)));
  }
  void recv(void* buf, std::size_t count, DataType type, int peer, Stream& stream) override {
    AWSDT_CHECK_NCCL(ncclRecv(buf, count, nccl_type(type), peer, comm_, cuda_stream(stream)));
  }
  void barrier(Stream& stream) override {
    // NCCL has no barrier: a one-element all-reduce orders every rank the same way.
    if (!barrier_buf_.data()) barrier_buf_ = Buffer(sizeof(float), MemoryKind::Device, device_);
    all_reduce(barrier_buf_.data(), barrier_buf_.data(), 1, DataType::f32, ReduceOp::sum, stream);
  }
  void group_start() override { AWSDT_CHECK_NCCL(ncclGroupStart()); }
  void group_end() override { AWSDT_CHECK_NCCL(ncclGroupEnd()); }

  std::unique_ptr<Communicator> split(int color, int key) override {
    ncclComm_t child = nullptr;
    AWSDT_CHECK_NCCL(ncclCommSplit(comm_, color < 0 ? NCCL_SPLIT_NOCOLOR : color, key, &child, nullptr));
    if (!child) return nullptr;
    // Host names of the members: every member learns them from the parent's table by exchanging parent ranks.
    int child_size = 0;
    AWSDT_CHECK_NCCL(ncclCommCount(child, &child_size));
    Buffer ranks(sizeof(int) * child_size, MemoryKind::Device, device_);
    Stream s(device_);
    int mine = rank_;
    Buffer one(sizeof(int), MemoryKind::Device, device_);
    copy_async(one.data(), &mine, sizeof(int), s);
    AWSDT_CHECK_NCCL(ncclAllGather(one.data(), ranks.data(), 1, ncclInt32, child, cuda_stream(s)));
    std::vector<int> parents(child_size);
    copy_async(parents.data(), ranks.data(), sizeof(int) * child_size, s);
    s.synchronize();
    std::vector<std::string> hosts;
    for (int p : parents) hosts.push_back(hosts_.at(p));
    return std::make_unique<NcclCommunicator>(child, device_, std::move(hosts));
  }

  void abort() noexcept override {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
  }
  std::function<void()> abort_action() const override {
    return [comm = comm_] {
      if (comm) ncclCommAbort(comm);
    };
  }
  bool has_async_errors() const override { return true; }
  std::string async_error() const override {
    ncclResult_t state = ncclSuccess;
    if (!comm_ || ncclCommGetAsyncError(comm_, &state) != ncclSuccess) return {};
    if (state == ncclSuccess || state == ncclInProgress) return {};
    const char* detail = ncclGetLastError(comm_);
    return fmt::format("NCCL: {}{}{}", ncclGetErrorString(state), detail && *detail ? ": " : "", detail ? detail : "");
  }

 private:
  ncclComm_t comm_;
  Device device_;
  std::vector<std::string> hosts_;
  int rank_ = 0, size_ = 1;
  Buffer barrier_buf_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_nccl_communicators(Bootstrap& bootstrap,
                                                                   const std::vector<Device>& devices) {
  AWSDT_CHECK(!devices.empty(), "no GPU given to the NCCL backend");
  ncclUniqueId id{};
  std::vector<std::uint8_t> blob;
  if (bootstrap.rank() == 0) {
    AWSDT_CHECK_NCCL(ncclGetUniqueId(&id));
    blob.assign(reinterpret_cast<std::uint8_t*>(&id), reinterpret_cast<std::uint8_t*>(&id) + sizeof(id));
  }
  blob = bootstrap.broadcast_from_root(blob);
  AWSDT_CHECK(blob.size() == sizeof(id), "the bootstrap delivered a malformed NCCL unique id");
  std::memcpy(&id, blob.data(), sizeof(id));

  int per_process = int(devices.size());
  int world = bootstrap.size() * per_process;
  std::vector<std::string> hosts;
  for (const auto& h : bootstrap.hosts())
    for (int i = 0; i < per_process; ++i) hosts.push_back(h);

  std::vector<ncclComm_t> comms(devices.size());
  AWSDT_CHECK_NCCL(ncclGroupStart());
  for (int i = 0; i < per_process; ++i) {
    AWSDT_CHECK_CUDA(cudaSetDevice(devices[i].index));
    AWSDT_CHECK_NCCL(ncclCommInitRank(&comms[i], world, id, bootstrap.rank() * per_process + i));
  }
  AWSDT_CHECK_NCCL(ncclGroupEnd());
  if (bootstrap.rank() == 0) {  // which network carries the data between hosts, once per job
    std::set<std::string> distinct(bootstrap.hosts().begin(), bootstrap.hosts().end());
    std::fprintf(stderr, "awsdt: %s\n", nccl_network_line(std::getenv("NCCL_NET"), distinct.size()).c_str());
  }
  std::vector<std::unique_ptr<Communicator>> out;
  for (int i = 0; i < per_process; ++i) out.push_back(std::make_unique<NcclCommunicator>(comms[i], devices[i], hosts));
  return out;
}

}  // namespace awsdt
