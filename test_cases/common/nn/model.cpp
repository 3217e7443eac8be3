// Model forward and backward, composed from the kernels/cpu/llama_* layers, llm.c style.
#include "nn/model.hpp"
#include "nn/unit_model.hpp"

#include <algorithm>
#include <string>

#include "kernels/cpu/llama_attention.hpp"
#include "kernels/cpu/llama_cross_entropy.hpp"
#include "kernels/cpu/llama_embedding.hpp"
#include "kernels/cpu/llama_linear.hpp"
#include "kernels/cpu/llama_residual.hpp"
#include "kernels/cpu/llama_rmsnorm.hpp"
#include "kernels/cpu/llama_rope.hpp"
#include "kernels/cpu/llama_swiglu.hpp"
#include "nn/init.hpp"
#include "util/error.hpp"

namespace awsdt::nn {

using namespace kernels::cpu;

namespace {

constexpr double kInitStd = 0.02;

void zero(std::vector<float>& v) {
  float* p = v.data();
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = 0.0f;
}

}  // namespace

std::vector<UnitLayout> unit_layouts(const ModelConfig& config) {
  std::vector<UnitLayout> out{embedding_layout(config)};
  for (int l = 0; l < config.n_layers; ++l) out.push_back(block_layout(config, l));
  out.push_back(head_layout(config));
  return out;
}

void initial_params(const UnitLayout& layout, int unit, std::uint64_t seed, float* out) {
  // Stream u initialises unit u, so each unit's values do not depend on the others (nor on sharding).
  std::fill(out, out + layout.size, 0.0f);
  init_unit(out, layout, seed, static_cast<std::uint64_t>(unit), kInitStd);
}

Model::Model(const ModelConfig& config) : config_(config) {
  config_.validate();
  block_off_ = block_offsets(config_);
  head_off_ = head_offsets(config_);
  for (UnitLayout& layout : unit_layouts(config_)) units_.push_back({std::move(layout), {}, {}});
}

Model::Model(const ModelConfig& config, std::uint64_t seed) : Model(config) {
  for (std::size_t u = 0; u < units_.size(); ++u) {
    ParamUnit& unit = units_[u];
    unit.params.resize(unit.layout.size);
    unit.grads.assign(unit.layout.size, 0.0f);
    initial_params(unit.layout, static_cast<int>(u), seed, unit.params.data());
  }
}

const float* Model::lm_head_weight() const {
  return config_.tied_embeddings ? params_of(0) : params_of(last_unit()) + head_off_.lm_head;
}

float* Model::lm_head_grad() {
  return config_.tied_embeddings ? grads_of(0) : grads_of(last_unit()) + head_off_.lm_head;
}

void Model::bind(int unit, const float* params, float* grads) {
  AWSDT_CHECK(unit >= 0 && unit < static_cast<int>(units_.size()), "Model::bind: unit out of range");
  bound_.resize(units_.size());
  bound_[static_cast<std::size_t>(unit)] = {params, grads};
}

const float* Model::params_of(int unit) const {
  const auto u = static_cast<std::size_t>(unit);
  return u < bound_.size() && bound_[u].params ? bound_[u].params : units_[u].params.data();
}

float* Model::grads_of(int unit) {
  const auto u = static_cast<std::size_t>(unit);
  return u < bound_.size() && bound_[u].grads ? bound_[u].grads : units_[u].grads.data();
}

void Model::zero_grad() {
  for (ParamUnit& u : units_) zero(u.grads);
}

float Model::forward(const std::int32_t* tokens, const std::int32_t* targets, int B, int T) {
  forward_begin(tokens, targets, B, T);
  forward_embedding();
  for (int l = 0; l < config_.n_layers; ++l) block_forward(l);
  return forward_head();
}

void Model::forward_begin(const std::int32_t* tokens, const std::int32_t* targets, int B, int T) {
  if (B <= 0 || T <= 0) throw UsageError("forward: batch and sequence length must be positive");
  if (T > config_.max_seq_len) {
    throw UsageError("forward: sequence length " + std::to_string(T) + " exceeds max_seq_len " +
                     std::to_string(config_.max_seq_len));
  }
  acts_.resize(config_, B, T, recompute_ ? 1 : config_.n_layers);
  const int N = B * T;
  std::copy(tokens, tokens + N, acts_.tokens.begin());
  have_targets_ = targets != nullptr;
  if (have_targets_) std::copy(targets, targets + N, acts_.targets.begin());
}

void Model::forward_embedding() {
  const int N = acts_.B * acts_.T, C = config_.dim, V = config_.vocab_size;
  embedding_forward(acts_.residual.data(), acts_.tokens.data(), params_of(0), N, C, V);
}

void Model::forward_block(int layer) {
  AWSDT_CHECK(layer >= 0 && layer < config_.n_layers, "Model::forward_block: layer out of range");
  block_forward(layer);
}

float Model::forward_head() {
  const int N = acts_.B * acts_.T, C = config_.dim, V = config_.vocab_size;
  const float* last = acts_.residual.data() + static_cast<std::size_t>(config_.n_layers) * N * C;
  rmsnorm_forward(acts_.lnf.data(), acts_.rstdf.data(), last, params_of(last_unit()) + head_off_.final_norm, N, C,
                  config_.norm_eps);
  linear_forward(acts_.logits.data(), acts_.lnf.data(), lm_head_weight(), N, C, V);
  if (!have_targets_) return 0.0f;
  return cross_entropy_forward(acts_.probs.data(), acts_.logits.data(), acts_.targets.data(), N, V);
}

void Model::set_recompute(bool on) {
  recompute_ = on;
  have_targets_ = false;  // the stored activations no longer match the mode, so backward must wait for a forward
}

LayerActivations& Model::layer_acts(int l) { return acts_.layers[recompute_ ? 0 : l]; }

void Model::block_forward(int l) {
  block_forward_saved(l);
  // MLP output: out = res2 + down_proj(h). Its backward needs none of these values, so recomputation skips them.
  const int N = acts_.B * acts_.T, C = config_.dim, F = config_.ffn_dim;
  const std::size_t NC = static_cast<std::size_t>(N) * C;
  const LayerActivations& a = layer_acts(l);
  linear_forward(acts_.proj.data(), a.h.data(), params_of(1 + l) + block_off_.w_down, N, F, C);
  residual_forward(acts_.residual.data() + (l + 1) * NC, a.res2.data(), acts_.proj.data(), NC);
}

// Block l's forward up to what its backward reads: everything but down_proj and the last residual add.
void Model::block_forward_saved(int l) {
  const int B = acts_.B, T = acts_.T, N = B * T, C = config_.dim, KV = config_.kv_dim(), F = config_.ffn_dim;
  const std::size_t NC = static_cast<std::size_t>(N) * C;
  const float* P = params_of(1 + l);
  const BlockOffsets& o = block_off_;
  LayerActivations& a = layer_acts(l);
  const float* x = acts_.residual.data() + l * NC;

  // Attention sub-block: res2 = x + o_proj(attention(rope(q), rope(k), v)).
  rmsnorm_forward(a.ln1.data(), a.rstd1.data(), x, P + o.attn_norm, N, C, config_.norm_eps);
  linear_forward(a.q.data(), a.ln1.data(), P + o.wq, N, C, C);
  linear_forward(a.k.data(), a.ln1.data(), P + o.wk, N, C, KV);
  linear_forward(a.v.data(), a.ln1.data(), P + o.wv, N, C, KV);
  rope_forward(a.q.data(), acts_.rope, B, T, config_.n_heads, config_.head_dim());
  rope_forward(a.k.data(), acts_.rope, B, T, config_.n_kv_heads, config_.head_dim());
  AttentionShape shape{B, T, config_.n_heads, config_.n_kv_heads, config_.head_dim()};
  attention_forward(a.atty.data(), a.att.data(), a.q.data(), a.k.data(), a.v.data(), shape);
  linear_forward(acts_.proj.data(), a.atty.data(), P + o.wo, N, C, C);
  residual_forward(a.res2.data(), x, acts_.proj.data(), NC);

  // MLP sub-block up to h = silu(gate_proj(ln2)) · up_proj(ln2).
  rmsnorm_forward(a.ln2.data(), a.rstd2.data(), a.res2.data(), P + o.mlp_norm, N, C, config_.norm_eps);
  linear_forward(a.gate.data(), a.ln2.data(), P + o.w_gate, N, C, F);
  linear_forward(a.up.data(), a.ln2.data(), P + o.w_up, N, C, F);
  swiglu_forward(a.h.data(), a.gate.data(), a.up.data(), static_cast<std::size_t>(N) * F);
}

void Model::backward() {
  backward_head();
  for (int l = config_.n_layers - 1; l >= 0; --l) block_backward(l);
  backward_embedding();
}

void Model::backward_head() {
  AWSDT_CHECK(have_targets_, "Model::backward needs a forward with targets first");
  const int N = acts_.B * acts_.T, C = config_.dim, V = config_.vocab_size;
  GradScratch& g = scratch_;
  g.resize(config_, N);

  cross_entropy_backward(g.dlogits.data(), acts_.probs.data(), acts_.targets.data(), N, V, 1.0f, InputGrad::overwrite);
  linear_backward(g.dln.data(), lm_head_grad(), g.dlogits.data(), acts_.lnf.data(), lm_head_weight(), N, C, V,
                  InputGrad::overwrite);
  zero(g.dres);
  const float* last = acts_.residual.data() + static_cast<std::size_t>(config_.n_layers) * N * C;
  rmsnorm_backward(g.dres.data(), grads_of(last_unit()) + head_off_.final_norm, g.dln.data(), last,
                   params_of(last_unit()) + head_off_.final_norm, acts_.rstdf.data(), N, C);
}

void Model::backward_block(int layer) {
  AWSDT_CHECK(layer >= 0 && layer < config_.n_layers, "Model::backward_block: layer out of range");
  block_backward(layer);
}

void Model::backward_embedding() {
  const int N = acts_.B * acts_.T, C = config_.dim;
  embedding_backward(grads_of(0), acts_.tokens.data(), scratch_.dres.data(), N, C);
}

// On entry g.dres holds ∂loss/∂(block output); on exit ∂loss/∂(block input).
void Model::block_backward(int l) {
  // The same ops on the same input and params as the forward, so the rebuilt values are bit-identical.
  if (recompute_) block_forward_saved(l);

  const int B = acts_.B, T = acts_.T, N = B * T, C = config_.dim, KV = config_.kv_dim(), F = config_.ffn_dim;
  const std::size_t NC = static_cast<std::size_t>(N) * C;
  const float* P = params_of(1 + l);
  float* G = grads_of(1 + l);
  const BlockOffsets& o = block_off_;
  const LayerActivations& a = layer_acts(l);
  const float* x = acts_.residual.data() + l * NC;
  GradScratch& g = scratch_;

  // A residual add passes its output gradient unchanged to both inputs, so g.dres is each branch's output
  // gradient as it stands, and each norm's backward adds its input gradient into g.dres in place (no copies).
  // MLP sub-block.
  linear_backward(g.dh.data(), G + o.w_down, g.dres.data(), a.h.data(), P + o.w_down, N, F, C, InputGrad::overwrite);
  swiglu_backward(g.dgate.data(), g.dup.data(), g.dh.data(), a.gate.data(), a.up.data(),
                  static_cast<std::size_t>(N) * F, InputGrad::overwrite);
  linear_backward(g.dln.data(), G + o.w_gate, g.dgate.data(), a.ln2.data(), P + o.w_gate, N, C, F,
                  InputGrad::overwrite);
  linear_backward(g.dln.data(), G + o.w_up, g.dup.data(), a.ln2.data(), P + o.w_up, N, C, F);
  rmsnorm_backward(g.dres.data(), G + o.mlp_norm, g.dln.data(), a.res2.data(), P + o.mlp_norm, a.rstd2.data(), N, C);

  // Attention sub-block.
  linear_backward(g.datty.data(), G + o.wo, g.dres.data(), a.atty.data(), P + o.wo, N, C, C, InputGrad::overwrite);
  zero(g.dq);
  zero(g.dk);
  zero(g.dv);
  AttentionShape shape{B, T, config_.n_heads, config_.n_kv_heads, config_.head_dim()};
  attention_backward(g.dq.data(), g.dk.data(), g.dv.data(), g.datty.data(), a.q.data(), a.k.data(), a.v.data(),
                     a.att.data(), shape);
  rope_backward(g.dq.data(), acts_.rope, B, T, config_.n_heads, config_.head_dim());
  rope_backward(g.dk.data(), acts_.rope, B, T, config_.n_kv_heads, config_.head_dim());
  linear_backward(g.dln.data(), G + o.wq, g.dq.data(), a.ln1.data(), P + o.wq, N, C, C, InputGrad::overwrite);
  linear_backward(g.dln.data(), G + o.wk, g.dk.data(), a.ln1.data(), P + o.wk, N, C, KV);
  linear_backward(g.dln.data(), G + o.wv, g.dv.data(), a.ln1.data(), P + o.wv, N, C, KV);
  rmsnorm_backward(g.dres.data(), G + o.attn_norm, g.dln.data(), x, P + o.attn_norm, a.rstd1.data(), N, C);
}

static_assert(UnitModel<Model>);

}  // namespace awsdt::nn
