// The data-parallel view of a token stream: the global batch of every step is G consecutive sequences of one
// per-sequence source, and rank r of N takes sequences [r·G/N, (r+1)·G/N) of it, micro-batch by micro-batch.
// So the sequences a step trains on do not depend on the number of ranks (a 1-rank run sees the same batch).
#pragma once

#include <cstdint>
#include <memory>

#include "nn/data.hpp"

namespace awsdt::train {

/// Micro-batches of B sequences for one rank, cut from a source that yields one sequence per next().
class RankSliceSource final : public nn::TokenSource {
 public:
  /// sequences: a B = 1 source; global_batch G sequences per step, split evenly over world ranks; the first
  /// first_sequence sequences are skipped (a resumed run continues at the checkpoint's data position).
  RankSliceSource(std::unique_ptr<nn::TokenSource> sequences, int B, int global_batch, int rank, int world,
                  std::int64_t first_sequence = 0);
  /// The rank's next micro-batch (skipping the other ranks' sequences).
  void next(nn::TokenBatch& batch) override;
  /// The underlying source's description plus the slicing.
  std::string describe() const override;

 private:
  std::unique_ptr<nn::TokenSource> sequences_;
  int B_, global_batch_, rank_, world_, per_rank_;
  std::int64_t delivered_ = 0;  // sequences handed to this rank so far
  std::int64_t consumed_ = 0;   // sequences drawn from the underlying source so far
  nn::TokenBatch one_;
};

}  // namespace awsdt::train
