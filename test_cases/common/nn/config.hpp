// ModelConfig: the shape of a Llama-family decoder, named presets (tiny, small and published model shapes),
// validation, parameter count and the FLOPs-per-token estimate used for MFU.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace awsdt::nn {

/// Shape and hyper-parameters of a Llama-family decoder (names follow Meta's params.json).
struct ModelConfig {
  int vocab_size = 0;            ///< tokens in the vocabulary
  int dim = 0;                   ///< hidden size
  int n_layers = 0;              ///< transformer blocks
  int n_heads = 0;               ///< query heads
  int n_kv_heads = 0;            ///< key/value heads (grouped-query attention)
  int ffn_dim = 0;               ///< MLP intermediate size
  int max_seq_len = 0;           ///< longest sequence (size of the RoPE table)
  double norm_eps = 1e-5;        ///< RMSNorm epsilon
  double rope_theta = 10000.0;   ///< RoPE base
  bool tied_embeddings = false;  ///< LM head shares the token embedding table
  // Llama-3 RoPE frequency scaling (Hugging Face rope_scaling with rope_type "llama3"), which stretches the
  // low frequencies so a model trained at rope_original_max_seq_len works at max_seq_len.
  double rope_scaling_factor = 0.0;      ///< "factor": 0 or 1 = no scaling
  double rope_low_freq_factor = 1.0;     ///< wavelengths above original / low_freq_factor are divided by factor
  double rope_high_freq_factor = 4.0;    ///< wavelengths below original / high_freq_factor are kept
  int rope_original_max_seq_len = 8192;  ///< "original_max_position_embeddings"

  /// True when the RoPE frequencies are rescaled (rope_scaling_factor > 1).
  bool rope_scaled() const { return rope_scaling_factor > 1.0; }
  /// dim / n_heads.
  int head_dim() const { return n_heads > 0 ? dim / n_heads : 0; }
  /// n_kv_heads · head_dim: width of the k and v projections.
  int kv_dim() const { return n_kv_heads * head_dim(); }
  /// Throws awsdt::UsageError if the shape is inconsistent (non-positive sizes, heads not dividing dim, ...).
  void validate() const;
  /// Parameters of one transformer block (two norms, q/k/v/o, gate/up/down).
  std::int64_t block_parameter_count() const;
  /// All distinct parameters: embedding, blocks, final norm and (untied only) the LM head.
  std::int64_t parameter_count() const;
  /// parameter_count() without the token embedding table (as torchtitan's exclude_embedding: for a tied model
  /// this also leaves out the LM head, for an untied one the head stays in).
  std::int64_t non_embedding_parameter_count() const;
  /// The parameters that multiply activations, each as often as it does: all but the embedding lookup, whose
  /// table a tied model multiplies once more as its LM head. Untied: non_embedding_parameter_count(); tied:
  /// parameter_count().
  std::int64_t matmul_parameter_count() const;
  /// Training FLOPs per token at sequence length seq: 6 · matmul_parameter_count() + 12 · n_layers · dim · seq.
  /// torchtitan's formula; for an untied model its count exactly. A tied LM head's matmul is counted, as
  /// Megatron-LM and nanoGPT count it (torchtitan's code subtracts the shared table as an embedding, which
  /// leaves out 6 · vocab · dim of real work per token: llama3_2_1b at 2048 tokens, 1.58 of 8.22 GFLOP).
  double flops_per_token(int seq) const;
};

/// The names model_preset() accepts, in a stable order.
std::vector<std::string> model_preset_names();
/// The preset called name (validated); throws awsdt::UsageError listing the presets for an unknown name.
ModelConfig model_preset(std::string_view name);

}  // namespace awsdt::nn
