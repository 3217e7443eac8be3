// Bootstrap through MPI_COMM_WORLD: rank, size, local rank (ranks sharing this node) and host table; the peer
// watch (a side channel of TCP connections, peer_watch.hpp) names a lost rank to the survivors.
#include <cstring>

#include "comm/bootstrap/bootstrap.hpp"
#include "comm/bootstrap/peer_watch.hpp"
#include "comm/mpi/mpi_runtime.hpp"

namespace awsdt {
namespace {

class MpiBootstrap final : public Bootstrap {
 public:
  MpiBootstrap() {
    mpi::ensure_initialized();
    AWSDT_CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    AWSDT_CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
    set_process_identity(rank_, host_name());
    MPI_Comm node;
    AWSDT_CHECK_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
    AWSDT_CHECK_MPI(MPI_Comm_rank(node, &local_rank_));
    MPI_Comm_free(&node);
    constexpr int kLen = 256;
    std::vector<char> mine(kLen, '\0'), all(std::size_t(kLen) * size_);
    std::strncpy(mine.data(), host_name().c_str(), kLen - 1);
    AWSDT_CHECK_MPI(MPI_Allgather(mine.data(), kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, MPI_COMM_WORLD));
    for (int r = 0; r < size_; ++r) hosts_.emplace_back(all.data() + std::size_t(r) * kLen);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  const std::vector<std::string>& hosts() const override { return hosts_; }
  std::string name() const override { return "mpi"; }

  // mpirun and srun end the job when a rank dies, but tell the survivors nothing: without the watch their last
  // words are "received signal 15" or an MPI transport error, and only the launcher's log names the rank.
  void watch_peers(std::function<void(const std::string& what)> on_lost) override {
    if (!watch_) watch_ = start_peer_watch(*this, std::move(on_lost));
  }

  std::vector<std::uint8_t> broadcast_from_root(const std::vector<std::uint8_t>& blob) override {
    int n = int(blob.size());
    AWSDT_CHECK_MPI(MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD));
    std::vector<std::uint8_t> out = rank_ == 0 ? blob : std::vector<std::uint8_t>(std::size_t(n));
    AWSDT_CHECK_MPI(MPI_Bcast(out.data(), n, MPI_BYTE, 0, MPI_COMM_WORLD));
    return out;
  }

  std::vector<std::uint8_t> all_gather_bytes(const std::vector<std::uint8_t>& mine) override {
    std::vector<std::uint8_t> all(mine.size() * std::size_t(size_));
    AWSDT_CHECK_MPI(
        MPI_Allgather(mine.data(), int(mine.size()), MPI_BYTE, all.data(), int(mine.size()), MPI_BYTE, MPI_COMM_WORLD));
    return all;
  }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::vector<std::string> hosts_;
  std::unique_ptr<PeerWatch> watch_;
};

}  // namespace

std::unique_ptr<Bootstrap> make_mpi_bootstrap() { return std::make_unique<MpiBootstrap>(); }

}  // namespace awsdt
