// Sizing of the activation and gradient-scratch buffers.
#include "nn/activations.hpp"

#include <cstddef>

#include "nn/rope.hpp"

namespace awsdt::nn {
namespace {

template <typename T>
std::int64_t bytes_of(const std::vector<T>& v) {
  return static_cast<std::int64_t>(v.size() * sizeof(T));
}

}  // namespace

void Activations::resize(const ModelConfig& config, int new_b, int new_t, int layer_sets) {
  if (new_b == B && new_t == T && layers.size() == static_cast<std::size_t>(layer_sets)) return;
  B = new_b;
  T = new_t;
  const std::size_t N = static_cast<std::size_t>(B) * T, C = config.dim, KV = config.kv_dim(), F = config.ffn_dim,
                    V = config.vocab_size;
  tokens.assign(N, 0);
  targets.assign(N, 0);
  residual.assign((config.n_layers + 1) * N * C, 0.0f);
  layers.resize(layer_sets);  // shrinking frees the dropped sets
  for (LayerActivations& a : layers) {
    a.ln1.assign(N * C, 0.0f);
    a.rstd1.assign(N, 0.0f);
    a.q.assign(N * C, 0.0f);
    a.k.assign(N * KV, 0.0f);
    a.v.assign(N * KV, 0.0f);
    a.att.assign(static_cast<std::size_t>(B) * config.n_heads * T * T, 0.0f);
    a.atty.assign(N * C, 0.0f);
    a.res2.assign(N * C, 0.0f);
    a.ln2.assign(N * C, 0.0f);
    a.rstd2.assign(N, 0.0f);
    a.gate.assign(N * F, 0.0f);
    a.up.assign(N * F, 0.0f);
    a.h.assign(N * F, 0.0f);
  }
  lnf.assign(N * C, 0.0f);
  rstdf.assign(N, 0.0f);
  logits.assign(N * V, 0.0f);
  probs.assign(N * V, 0.0f);
  proj.assign(N * C, 0.0f);
  rope = model_rope_table(config, T);
}

std::int64_t Activations::bytes() const {
  std::int64_t total = bytes_of(tokens) + bytes_of(targets) + bytes_of(residual) + bytes_of(lnf) + bytes_of(rstdf) +
                       bytes_of(logits) + bytes_of(probs) + bytes_of(proj) + bytes_of(rope.cos) + bytes_of(rope.sin);
  for (const LayerActivations& a : layers) {
    for (const auto* buf :
         {&a.ln1, &a.rstd1, &a.q, &a.k, &a.v, &a.att, &a.atty, &a.res2, &a.ln2, &a.rstd2, &a.gate, &a.up, &a.h})
      total += bytes_of(*buf);
  }
  return total;
}

void GradScratch::resize(const ModelConfig& config, int N) {
  const std::size_t n = static_cast<std::size_t>(N), C = config.dim, KV = config.kv_dim(), F = config.ffn_dim,
                    V = config.vocab_size;
  if (dres.size() == n * C) return;
  for (auto* buf : {&dres, &dln, &dq, &datty}) buf->assign(n * C, 0.0f);
  for (auto* buf : {&dk, &dv}) buf->assign(n * KV, 0.0f);
  for (auto* buf : {&dgate, &dup, &dh}) buf->assign(n * F, 0.0f);
  dlogits.assign(n * V, 0.0f);
}

}  // namespace awsdt::nn
