// The GEMMs awsdt-megatron gemm measures: given explicitly (--shape MxNxK, the global GEMM before TP splits it),
// swept over M, or derived from a model's transformer layer under Megatron's tensor + sequence parallelism.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parallel/tp_gemm.hpp"

namespace awsdt::megatron {

/// One transformer layer's shape: what its TP GEMMs follow from.
struct LayerShape {
  std::string model;  ///< preset name ("" for --shape)
  int hidden = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0;
  bool gated = true;  ///< SwiGLU (gate and up projections, Llama) or a plain MLP (GPT-3)
  int seq = 0, micro_batch = 1;
  int tokens() const { return seq * micro_batch; }
};

/// The layer of a preset: awsdt-fsdp's (llama*, mistral_7b, tiny, small) or gpt3_175b (96 layers, hidden
/// 12288, 96 heads, plain 4·hidden MLP, sequence 2048). seq 0: the preset's usual (8192 for Llama 3, 4096 for
/// Llama 2 and Mistral, 2048 for GPT-3). Throws UsageError listing the presets.
LayerShape layer_shape(std::string_view model, int seq, int micro_batch);
/// Every name layer_shape() takes.
std::string layer_presets();

/// One TP GEMM of a layer: its role (qkv, proj, fc1, fc2; with _dgrad in the backward), pattern and global dims.
struct LayerGemm {
  std::string role;
  parallel::TpPattern pattern;
  parallel::GemmDims dims;
};
/// The layer's four forward TP GEMMs and their four backward data-gradient GEMMs, in execution order.
std::vector<LayerGemm> layer_gemms(const LayerShape& layer, int tp);

/// Parses "MxNxK" (e.g. 8192x8192x28672); throws UsageError naming the text and the form.
parallel::GemmDims parse_shape(std::string_view text);
/// Parses "MIN:MAX[:FACTOR]" into the M values of a sweep (factor 2 by default); throws UsageError.
std::vector<int> parse_m_sweep(std::string_view text);

}  // namespace awsdt::megatron
