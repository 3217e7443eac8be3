// gemm_rs (C = reduce-scatter over rows of A_r·B_r) and gemm_ar (C = all-reduce of A_r·B_r), by each method (see
// tp_gemm.hpp); their ring method shares one ring reduce-scatter in which the partial sums travel.
#include "parallel/tp_gemm.hpp"

namespace awsdt::parallel {

void TpGemm::gemm_rs(const void* a, const void* b, void* c, bool comm) {
  const int N = dims_.n, Kl = shapes_.a_cols, Mb = dims_.m / tp_;
  const auto* A = static_cast<const char*>(a);
  auto* C = static_cast<char*>(c);
  char* partial = ws(0);  // [M, N]: the partial sums (serial), or chunk-major staging (pipelined)
  switch (method_) {
    case TpMethod::serial:
      gemm(dims_.m, N, Kl, a, b, partial);
      if (!comm) return;
      event(0).record(r_.compute);
      r_.comm_stream.wait(event(0));
      r_.comm.reduce_scatter(partial, c, std::size_t(Mb) * N, r_.dtype, ReduceOp::sum, r_.comm_stream);
      return end_on_comm();
    case TpMethod::pipelined:
      // Chunk j: rows offset_j.. of every rank's block, staged rank after rank so one reduce-scatter serves it.
      for (std::size_t j = 0; j < chunks_.size(); ++j) {
        const Chunk ch = chunks_[j];
        char* staging = partial + std::size_t(tp_) * ch.offset * N * esize_;
        for (int dst = 0; dst < tp_; ++dst)
          gemm(ch.rows, N, Kl, A + (std::size_t(dst) * Mb + ch.offset) * Kl * esize_, b,
               staging + std::size_t(dst) * ch.rows * N * esize_);
        if (!comm) continue;
        event(j).record(r_.compute);
        r_.comm_stream.wait(event(j));
        r_.comm.reduce_scatter(staging, C + std::size_t(ch.offset) * N * esize_, std::size_t(ch.rows) * N, r_.dtype,
                               ReduceOp::sum, r_.comm_stream);
      }
      if (comm) end_on_comm();
      return;
    case TpMethod::ring: return ring_reduce_scatter(a, b, c, comm);
  }
}

void TpGemm::gemm_ar(const void* a, const void* b, void* c, bool comm) {
  const int N = dims_.n, Kl = shapes_.a_cols, Mb = dims_.m / tp_;
  auto* C = static_cast<char*>(c);
  const std::size_t all = std::size_t(dims_.m) * N;
  switch (method_) {
    case TpMethod::serial:
      gemm(dims_.m, N, Kl, a, b, c);
      if (!comm) return;
      event(0).record(r_.compute);
      r_.comm_stream.wait(event(0));
      r_.comm.all_reduce(c, c, all, r_.dtype, ReduceOp::sum, r_.comm_stream);
      return end_on_comm();
    case TpMethod::pipelined:
      for (std::size_t j = 0; j < chunks_.size(); ++j) {
        const Chunk ch = chunks_[j];
        char* rows = C + std::size_t(ch.offset) * N * esize_;
        gemm(ch.rows, N, Kl, static_cast<const char*>(a) + std::size_t(ch.offset) * Kl * esize_, b, rows);
        if (!comm) continue;
        event(j).record(r_.compute);
        r_.comm_stream.wait(event(j));
        r_.comm.all_reduce(rows, rows, std::size_t(ch.rows) * N, r_.dtype, ReduceOp::sum, r_.comm_stream);
      }
      if (comm) end_on_comm();
      return;
    case TpMethod::ring: {
      // The ring reduce-scatter leaves this rank's block reduced in place; an all-gather completes the rest.
      char* mine = C + std::size_t(rank_) * Mb * N * esize_;
      ring_reduce_scatter(a, b, mine, comm);
      if (!comm) return;
      done_.record(r_.compute);
      r_.comm_stream.wait(done_);
      r_.comm.all_gather(mine, c, std::size_t(Mb) * N, r_.dtype, r_.comm_stream);
      return end_on_comm();
    }
  }
}

// Step s computes the partial sums of block d = rank − 1 − s (rows d·M/tp..), adds what rank − 1 accumulated
// for it, and passes the sum to rank + 1 while the next step's GEMM runs; the last step's block is this rank's own.
void TpGemm::ring_reduce_scatter(const void* a, const void* b, void* block, bool comm) {
  const int N = dims_.n, Kl = shapes_.a_cols, Mb = dims_.m / tp_;
  const std::size_t count = std::size_t(Mb) * N, base = std::size_t(dims_.m) * N;
  char* part[2] = {ws(base), ws(base + count)};
  char* inbox[2] = {ws(base + 2 * count), ws(base + 3 * count)};
  const int next = (rank_ + 1) % tp_, prev = (rank_ + tp_ - 1) % tp_;
  for (int s = 0; s < tp_; ++s) {
    const int d = (rank_ - 1 - s + 2 * tp_) % tp_;
    const bool last = s + 1 == tp_;
    char* out = last ? static_cast<char*>(block) : part[s % 2];
    if (comm && s >= 2) r_.compute.wait(event(2 * (s - 1)));  // part[s % 2] has been sent (step s − 2)
    gemm(Mb, N, Kl, static_cast<const char*>(a) + std::size_t(d) * Mb * Kl * esize_, b, out);
    if (!comm) continue;
    if (s >= 1) {
      r_.compute.wait(event(2 * s));
      kernels::add_into(out, inbox[s % 2], count, r_.dtype, r_.compute);
    }
    if (last) break;
    event(2 * s + 1).record(r_.compute);
    r_.comm_stream.wait(event(2 * s + 1));
    r_.comm.group_start();
    r_.comm.send(out, count, r_.dtype, next, r_.comm_stream);
    r_.comm.recv(inbox[(s + 1) % 2], count, r_.dtype, prev, r_.comm_stream);
    r_.comm.group_end();
    event(2 * (s + 1)).record(r_.comm_stream);
  }
}

}  // namespace awsdt::parallel
