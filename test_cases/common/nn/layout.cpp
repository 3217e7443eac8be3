// Unit layouts and their Hugging Face tensor names.
#include "nn/layout.hpp"

namespace awsdt::nn {
namespace {

// Appends a [rows, cols] tensor at the end of the unit.
void add(UnitLayout& unit, std::string name, int rows, int cols) {
  TensorSlot slot{std::move(name), unit.size, rows, cols};
  unit.size += slot.size();
  unit.tensors.push_back(std::move(slot));
}

}  // namespace

UnitLayout embedding_layout(const ModelConfig& config) {
  UnitLayout unit;
  unit.name = "embedding";
  add(unit, "model.embed_tokens.weight", config.vocab_size, config.dim);
  return unit;
}

UnitLayout block_layout(const ModelConfig& config, int layer) {
  const int d = config.dim, kv = config.kv_dim(), f = config.ffn_dim;
  const std::string p = "model.layers." + std::to_string(layer) + ".";
  UnitLayout unit;
  unit.name = "layers." + std::to_string(layer);
  add(unit, p + "input_layernorm.weight", d, 1);
  add(unit, p + "self_attn.q_proj.weight", d, d);
  add(unit, p + "self_attn.k_proj.weight", kv, d);
  add(unit, p + "self_attn.v_proj.weight", kv, d);
  add(unit, p + "self_attn.o_proj.weight", d, d);
  add(unit, p + "post_attention_layernorm.weight", d, 1);
  add(unit, p + "mlp.gate_proj.weight", f, d);
  add(unit, p + "mlp.up_proj.weight", f, d);
  add(unit, p + "mlp.down_proj.weight", d, f);
  return unit;
}

UnitLayout head_layout(const ModelConfig& config) {
  UnitLayout unit;
  unit.name = "head";
  add(unit, "model.norm.weight", config.dim, 1);
  if (!config.tied_embeddings) add(unit, "lm_head.weight", config.vocab_size, config.dim);
  return unit;
}

BlockOffsets block_offsets(const ModelConfig& config) {
  UnitLayout unit = block_layout(config, 0);
  const auto& t = unit.tensors;
  return {t[0].offset, t[1].offset, t[2].offset, t[3].offset, t[4].offset,
          t[5].offset, t[6].offset, t[7].offset, t[8].offset, unit.size};
}

HeadOffsets head_offsets(const ModelConfig& config) {
  UnitLayout unit = head_layout(config);
  return {unit.tensors[0].offset, config.tied_embeddings ? 0 : unit.tensors[1].offset, unit.size};
}

}  // namespace awsdt::nn
