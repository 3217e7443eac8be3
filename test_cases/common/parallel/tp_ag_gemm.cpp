// ag_gemm: C[M, N/tp] = all-gather(A sequence shards)·B_r, by each method (see tp_gemm.hpp). Every method leaves
// the gathered input row-major in the workspace (gathered()), as a weight gradient needs it.
#include "parallel/tp_gemm.hpp"

namespace awsdt::parallel {

void TpGemm::ag_gemm(const void* a, const void* b, void* c, bool comm) {
  const int K = dims_.k, Nl = shapes_.c_cols, Mb = dims_.m / tp_;
  const std::size_t shard = std::size_t(Mb) * K;
  const auto* A = static_cast<const char*>(a);
  auto* C = static_cast<char*>(c);
  char* gathered = ws(0);  // [M, K]
  switch (method_) {
    case TpMethod::serial:
      if (comm) {
        r_.comm.all_gather(a, gathered, shard, r_.dtype, r_.comm_stream);
        end_on_comm();
      }
      return gemm(dims_.m, Nl, K, gathered, b, c);
    case TpMethod::pipelined: {
      // Chunk j of every rank's shard lands, rank after rank, at staging offset tp·offset_j rows; the GEMMs read
      // it there, and a copy puts each block at its rows of the gathered input.
      char* staging = ws(std::size_t(dims_.m) * K);
      for (std::size_t j = 0; comm && j < chunks_.size(); ++j) {
        const Chunk ch = chunks_[j];
        r_.comm.all_gather(A + std::size_t(ch.offset) * K * esize_, staging + std::size_t(tp_) * ch.offset * K * esize_,
                           std::size_t(ch.rows) * K, r_.dtype, r_.comm_stream);
        event(j).record(r_.comm_stream);
      }
      for (std::size_t j = 0; j < chunks_.size(); ++j) {
        const Chunk ch = chunks_[j];
        if (comm) r_.compute.wait(event(j));
        for (int src = 0; src < tp_; ++src) {
          const std::size_t at = (std::size_t(tp_) * ch.offset + std::size_t(src) * ch.rows) * K * esize_;
          gemm(ch.rows, Nl, K, staging + at, b, C + (std::size_t(src) * Mb + ch.offset) * Nl * esize_);
          if (comm)
            copy_async(gathered + (std::size_t(src) * Mb + ch.offset) * K * esize_, staging + at,
                       std::size_t(ch.rows) * K * esize_, r_.compute);
        }
      }
      return;
    }
    case TpMethod::ring: {
      // Step s computes on the shard of rank (rank − s) while passing it on to rank + 1 and receiving the next
      // from rank − 1 straight into its rows of the gathered input (each slot is written once per run).
      const int next = (rank_ + 1) % tp_, prev = (rank_ + tp_ - 1) % tp_;
      if (comm) copy_async(gathered + std::size_t(rank_) * shard * esize_, a, shard * esize_, r_.compute);
      for (int s = 0; s < tp_; ++s) {
        const int src = (rank_ - s + tp_) % tp_, from = (rank_ - s - 1 + 2 * tp_) % tp_;
        const char* cur = s == 0 ? A : gathered + std::size_t(src) * shard * esize_;
        if (comm && s + 1 < tp_) {
          r_.comm.group_start();
          r_.comm.send(cur, shard, r_.dtype, next, r_.comm_stream);
          r_.comm.recv(gathered + std::size_t(from) * shard * esize_, shard, r_.dtype, prev, r_.comm_stream);
          r_.comm.group_end();
          event(s + 1).record(r_.comm_stream);
        }
        if (comm && s >= 1) r_.compute.wait(event(s));
        gemm(Mb, Nl, K, comm ? cur : A, b, C + std::size_t(src) * Mb * Nl * esize_);
      }
      return;
    }
  }
}

}  // namespace awsdt::parallel
