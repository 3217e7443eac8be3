// AdamW over a flat float span (one unit's buffer, or later one FSDP shard of it) and global-norm gradient
// clipping. Weight decay follows Hugging Face's Trainer, nanoGPT and llm.c: matrices (every 2-D tensor,
// embeddings and LM head included) decay, 1-D tensors (RMSNorm weights) do not. torchtitan decays every
// parameter; ours differs from it only in the norm weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/adamw_scalars.hpp"
#include "nn/layout.hpp"

namespace awsdt::nn {

/// AdamW hyper-parameters (defaults as torchtitan's Llama recipes: betas 0.9/0.95, eps 1e-8, decay 0.1).
struct AdamWOptions {
  double beta1 = 0.9;         ///< first-moment decay
  double beta2 = 0.95;        ///< second-moment decay
  double eps = 1e-8;          ///< added to sqrt(v̂)
  double weight_decay = 0.1;  ///< decoupled decay, multiplied by the learning rate (as torch.optim.AdamW)
};

/// A run of elements of a flat buffer that is (or is not) weight-decayed.
struct DecaySegment {
  std::size_t offset = 0;  ///< first element, relative to the span the optimizer sees
  std::size_t size = 0;    ///< elements
  bool decay = true;       ///< apply weight decay
};

/// The decay segments of layout's buffer restricted to [begin, end) and rebased to begin (for a shard);
/// matrices decay, tensors with cols == 1 (norm weights) do not.
std::vector<DecaySegment> decay_segments(const UnitLayout& layout, std::size_t begin = 0,
                                         std::size_t end = static_cast<std::size_t>(-1));

/// The scalars of one AdamW update (kernels/adamw_scalars.hpp).
using AdamWScalars = kernels::AdamWScalars;
/// The scalars of update t at learning rate lr.
AdamWScalars adamw_scalars(const AdamWOptions& options, double lr, std::int64_t t);
/// One AdamW update of n elements whose state lives in the caller's buffers (OpenMP threads):
/// g ·= grad_scale; p ·= decay_factor (when decay); m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
/// p -= lr·m̂ / (sqrt(v̂) + eps).
void adamw_update(float* p, const float* g, float* m, float* v, std::size_t n, const AdamWScalars& s, bool decay);

/// AdamW state (m, v, step count) for one flat span of parameters.
class AdamW {
 public:
  /// State for n elements, all zero, step count 0.
  AdamW(const AdamWOptions& options, std::size_t n, std::vector<DecaySegment> segments);

  /// One update at learning rate lr (increments the step count first, so bias correction uses t ≥ 1):
  /// p -= lr·wd·p (decayed segments); m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
  /// p -= lr · (m / (1-β1ᵗ)) / (sqrt(v / (1-β2ᵗ)) + eps).
  void step(std::span<float> params, std::span<const float> grads, double lr);

  /// Replaces the state with a checkpointed one: moments m and v (n elements each) after t updates.
  void restore(std::span<const float> m, std::span<const float> v, std::int64_t t);

  /// Updates taken so far.
  std::int64_t step_count() const { return t_; }
  /// First moments.
  const std::vector<float>& m() const { return m_; }
  /// Second moments.
  const std::vector<float>& v() const { return v_; }

 private:
  AdamWOptions options_;
  std::vector<DecaySegment> segments_;
  std::vector<float> m_, v_;
  std::int64_t t_ = 0;
};

/// Σ g² of one span, accumulated in double (a shard's share of the global squared norm).
double sum_of_squares(std::span<const float> grads);
/// The factor clip_grad_norm applies for a global norm: max_norm / (norm + 1e-6) when norm > max_norm, else 1
/// (torch.nn.utils.clip_grad_norm_); max_norm <= 0 disables clipping.
double clip_coefficient(double norm, double max_norm);
/// Multiplies every element of grads by factor.
void scale(std::span<float> grads, float factor);
/// Clips the spans together to global L2 norm max_norm (≤ 0: no clipping); returns the norm before clipping.
double clip_grad_norm(std::span<const std::span<float>> grads, double max_norm);

}  // namespace awsdt::nn
