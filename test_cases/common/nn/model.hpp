// Model: the fp32 CPU Llama decoder. Parameters live in units (see layout.hpp), each one contiguous buffer with
// a gradient buffer of the same layout; forward() keeps the activations backward() needs, or, with activation
// recomputation on, only each block's input, from which the block's backward re-runs its forward.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/activations.hpp"
#include "nn/config.hpp"
#include "nn/layout.hpp"

namespace awsdt::nn {

/// One unit's layout, parameters and gradients (params.size() == grads.size() == layout.size).
struct ParamUnit {
  UnitLayout layout;          ///< tensor names and offsets
  std::vector<float> params;  ///< the contiguous parameter buffer
  std::vector<float> grads;   ///< gradients, same layout
};

/// Every unit's layout, in unit order (embedding, blocks, head).
std::vector<UnitLayout> unit_layouts(const ModelConfig& config);
/// Unit `unit`'s initial parameters for seed (matrices N(0, 0.02²), norm weights 1) into out[layout.size]; each
/// unit draws from its own stream, so a unit's values do not depend on the others.
void initial_params(const UnitLayout& layout, int unit, std::uint64_t seed, float* out);

/// A Llama-family decoder with hand-written forward and backward on the CPU.
class Model {
 public:
  /// Validates config and draws the parameters from seed: matrices N(0, 0.02²), norm weights 1.
  Model(const ModelConfig& config, std::uint64_t seed);
  /// Validates config and keeps only the layouts: units own no buffers, so bind() each unit before running it.
  explicit Model(const ModelConfig& config);

  /// The model's shape.
  const ModelConfig& config() const { return config_; }
  /// Units in order: 0 = embedding, 1..n_layers = blocks, n_layers + 1 = head.
  std::vector<ParamUnit>& units() { return units_; }
  /// Read-only units.
  const std::vector<ParamUnit>& units() const { return units_; }
  /// The token embedding unit (also the LM head when tied).
  ParamUnit& embedding() { return units_.front(); }
  /// Transformer block `layer`.
  ParamUnit& block(int layer) { return units_.at(1 + layer); }
  /// The final norm (and untied LM head).
  ParamUnit& head() { return units_.back(); }

  /// Runs tokens[B·T] through the model; with targets[B·T] (< 0 = ignored) returns the mean cross-entropy,
  /// without (nullptr) returns 0 and only the logits are computed. Throws UsageError if T > max_seq_len.
  float forward(const std::int32_t* tokens, const std::int32_t* targets, int B, int T);
  /// Adds ∂loss/∂parameters of the last forward (which had targets) to every unit's grads.
  void backward();
  /// Sets every gradient to zero (gradients accumulate across backward() calls).
  void zero_grad();
  /// Unit by unit (nn/unit_model.hpp states the contract); a unit needs only its own buffers present.
  void forward_begin(const std::int32_t* tokens, const std::int32_t* targets, int B, int T);
  void forward_embedding();
  void forward_block(int layer);
  float forward_head();
  void backward_head();
  void backward_block(int layer);
  void backward_embedding();
  /// Params are fp32 here; nullptr restores the unit's own buffer (units()[unit]).
  void bind(int unit, const float* params, float* grads);
  /// Logits [B,T,vocab] of the last forward.
  const std::vector<float>& logits() const { return acts_.logits; }

  /// Activation recomputation (off by default; nn/unit_model.hpp). On, the blocks share one set of
  /// intermediates and forward_block keeps only the block's input. Changing it discards the last forward.
  void set_recompute(bool on);
  /// Whether activation recomputation is on.
  bool recompute() const { return recompute_; }
  /// Bytes of the activations the forward keeps for (B, T) of the last forward (0 before the first): residual
  /// stream, block intermediates (one block's worth with recomputation), final norm, logits and probabilities.
  /// The backward's gradient scratch is not included.
  std::int64_t activation_bytes() const { return acts_.bytes(); }

 private:
  struct Bound {
    const float* params = nullptr;
    float* grads = nullptr;
  };
  const float* params_of(int unit) const;
  float* grads_of(int unit);
  int last_unit() const { return static_cast<int>(units_.size()) - 1; }
  const float* lm_head_weight() const;
  float* lm_head_grad();
  LayerActivations& layer_acts(int layer);
  void block_forward(int layer);
  void block_forward_saved(int layer);
  void block_backward(int layer);

  ModelConfig config_;
  BlockOffsets block_off_;
  HeadOffsets head_off_;
  std::vector<ParamUnit> units_;
  std::vector<Bound> bound_;
  Activations acts_;
  GradScratch scratch_;
  bool have_targets_ = false;
  bool recompute_ = false;
};

}  // namespace awsdt::nn
