// Buffers of the fp32 engine for one (B, T): the activations the forward keeps for the backward, and the
// gradient scratch the backward reuses layer after layer. N = B·T tokens throughout. With activation
// recomputation the blocks share one LayerActivations (each block's backward rebuilds it from the block's input
// in `residual`), so block memory is one block's intermediates plus the L+1 residual-stream copies.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/llama_rope.hpp"
#include "nn/config.hpp"

namespace awsdt::nn {

/// One transformer block's intermediates (its input is Activations::residual of its layer).
struct LayerActivations {
  std::vector<float> ln1, rstd1;   ///< attention RMSNorm output [N,C] and 1/rms [N]
  std::vector<float> q, k, v;      ///< projections after RoPE: q [N,C], k and v [N,KV]
  std::vector<float> att;          ///< softmax probabilities [B,NH,T,T]
  std::vector<float> atty;         ///< attention output before o_proj [N,C]
  std::vector<float> res2;         ///< residual stream after attention [N,C]
  std::vector<float> ln2, rstd2;   ///< MLP RMSNorm output [N,C] and 1/rms [N]
  std::vector<float> gate, up, h;  ///< gate_proj, up_proj outputs and silu(gate)·up [N,F]
};

/// Everything the forward keeps, sized for one (B, T).
struct Activations {
  int B = 0;                             ///< batch of the last resize
  int T = 0;                             ///< sequence length of the last resize
  std::vector<std::int32_t> tokens;      ///< inputs [N]
  std::vector<std::int32_t> targets;     ///< targets [N]
  std::vector<float> residual;           ///< residual stream [(L+1),N,C]: input of each block, then the last output
  std::vector<LayerActivations> layers;  ///< one per block, or a single set all blocks share (recomputation)
  std::vector<float> lnf, rstdf;         ///< final RMSNorm output [N,C] and 1/rms [N]
  std::vector<float> logits;             ///< LM head output [N,V]
  std::vector<float> probs;              ///< softmax of logits [N,V]
  std::vector<float> proj;               ///< forward scratch for o_proj and down_proj outputs [N,C]
  kernels::cpu::RopeTable<float> rope;   ///< cos/sin for positions [0, T) (Llama-3 scaled if configured)

  /// Sizes every buffer for config, (B, T) and layer_sets LayerActivations (n_layers, or 1 when the blocks share
  /// one set); a no-op when none of them changed.
  void resize(const ModelConfig& config, int B, int T, int layer_sets);
  /// Bytes held by every buffer above (tokens, targets and the RoPE table included).
  std::int64_t bytes() const;
};

/// Gradient scratch of the backward, sized for one (B, T); zeroed piecewise as the backward goes.
struct GradScratch {
  std::vector<float> dres;               ///< the residual stream's gradient [N,C]
  std::vector<float> dln;                ///< gradient w.r.t. a norm output [N,C]
  std::vector<float> dq, dk, dv, datty;  ///< attention gradients: dq, datty [N,C]; dk, dv [N,KV]
  std::vector<float> dgate, dup, dh;     ///< MLP gradients [N,F]
  std::vector<float> dlogits;            ///< [N,V]

  /// Sizes every buffer for config and N tokens.
  void resize(const ModelConfig& config, int N);
};

}  // namespace awsdt::nn
