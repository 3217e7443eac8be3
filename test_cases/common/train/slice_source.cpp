// RankSliceSource: skip to each of this rank's sequences of the global batch.
#include "train/slice_source.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt::train {

RankSliceSource::RankSliceSource(std::unique_ptr<nn::TokenSource> sequences, int B, int global_batch, int rank,
                                 int world, std::int64_t first_sequence)
    : sequences_(std::move(sequences)),
      B_(B),
      global_batch_(global_batch),
      rank_(rank),
      world_(world),
      per_rank_(global_batch / world) {
  AWSDT_CHECK(B >= 1 && world >= 1 && global_batch % world == 0 && per_rank_ % B == 0,
              "RankSliceSource: the global batch must split into whole micro-batches per rank");
  AWSDT_CHECK(first_sequence >= 0, "RankSliceSource: negative first sequence");
  sequences_->skip(first_sequence);
}

void RankSliceSource::next(nn::TokenBatch& batch) {
  for (int b = 0; b < B_; ++b) {
    const std::int64_t k = delivered_++;
    const std::int64_t target =
        (k / per_rank_) * global_batch_ + static_cast<std::int64_t>(rank_) * per_rank_ + k % per_rank_;
    do {
      sequences_->next(one_);
    } while (consumed_++ < target);
    if (b == 0) {
      batch.B = B_;
      batch.T = one_.T;
      batch.inputs.resize(static_cast<std::size_t>(B_) * one_.T);
      batch.targets.resize(batch.inputs.size());
    }
    std::copy(one_.inputs.begin(), one_.inputs.end(), batch.inputs.begin() + static_cast<std::ptrdiff_t>(b) * one_.T);
    std::copy(one_.targets.begin(), one_.targets.end(),
              batch.targets.begin() + static_cast<std::ptrdiff_t>(b) * one_.T);
  }
}

std::string RankSliceSource::describe() const {
  return fmt::format("{}; rank {} of {} reads sequences [{}, {}) of each global batch of {}", sequences_->describe(),
                     rank_, world_, rank_ * per_rank_, (rank_ + 1) * per_rank_, global_batch_);
}

}  // namespace awsdt::train
