// Where each parameter lives: the model is split into units, each ONE contiguous buffer (the unit FSDP shards):
// the token embedding, one per transformer block, and the head (final norm, plus the LM head when untied).
// Tensors carry their Hugging Face names for checkpoint loading and saving.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nn/config.hpp"

namespace awsdt::nn {

/// One tensor inside a unit's buffer: a [rows, cols] row-major matrix (cols = 1 for vectors).
struct TensorSlot {
  std::string name;        ///< Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::size_t offset = 0;  ///< first element inside the unit's buffer
  int rows = 0;            ///< rows (out features for a linear weight)
  int cols = 0;            ///< columns (in features); 1 for a norm weight
  /// rows · cols.
  std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
};

/// A unit's tensors in buffer order and the buffer's total size.
struct UnitLayout {
  std::string name;                 ///< "embedding", "layers.N" or "head"
  std::vector<TensorSlot> tensors;  ///< in buffer order, contiguous, no padding
  std::size_t size = 0;             ///< elements in the unit's buffer
};

/// Offsets of a transformer block's tensors (the order of the buffer).
struct BlockOffsets {
  std::size_t attn_norm, wq, wk, wv, wo, mlp_norm, w_gate, w_up, w_down, size;  ///< element offsets; size = total
};

/// Offsets of the head unit's tensors.
struct HeadOffsets {
  std::size_t final_norm, lm_head, size;  ///< lm_head is meaningful only for an untied model; size = total
};

/// Block offsets for config (identical for every layer).
BlockOffsets block_offsets(const ModelConfig& config);
/// Head offsets for config.
HeadOffsets head_offsets(const ModelConfig& config);
/// The embedding unit: "model.embed_tokens.weight" [vocab, dim].
UnitLayout embedding_layout(const ModelConfig& config);
/// Transformer block `layer`: input_layernorm, q/k/v/o_proj, post_attention_layernorm, gate/up/down_proj.
UnitLayout block_layout(const ModelConfig& config, int layer);
/// The head unit: "model.norm.weight" and, when untied, "lm_head.weight".
UnitLayout head_layout(const ModelConfig& config);

}  // namespace awsdt::nn
