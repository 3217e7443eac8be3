// TpModel's forward and backward (see tp_model.hpp), from the same kernels as nn::Model, each GEMM on this rank's
// slice, with the TP collectives between them.
#include "train/tp_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "kernels/cpu/llama_attention.hpp"
#include "kernels/cpu/llama_gemm.hpp"
#include "kernels/cpu/llama_linear.hpp"
#include "kernels/cpu/llama_residual.hpp"
#include "kernels/cpu/llama_rmsnorm.hpp"
#include "kernels/cpu/llama_rope.hpp"
#include "kernels/cpu/llama_swiglu.hpp"
#include "kernels/cpu/simd_math.hpp"
#include "nn/rope.hpp"
#include "util/error.hpp"

namespace awsdt::train {

using namespace kernels::cpu;

/// One block's saved activations (local widths: Q = heads·hd, KV = kv_heads·hd, F = ffn / tp).
struct TpModel::Layer {
  std::vector<float> ln1s, rstd1, ln1;  // norm output on the shard, 1/rms, gathered [N,C] (SP only)
  std::vector<float> q, k, v, att, atty, res2;
  std::vector<float> ln2s, rstd2, ln2, gate, up, h;
};

namespace {

void fill0(std::vector<float>& v) { std::fill(v.begin(), v.end(), 0.0f); }
template <class... V>
void size_all(std::size_t n, V&... v) {
  (v.resize(n), ...);
}

// Rows of a fused GEMM's output [N, Σ widths] into one buffer per part, and back.
void split_cols(const float* packed, int N, std::initializer_list<std::pair<float*, int>> parts) {
  int width = 0;
  for (const auto& p : parts) width += p.second;
  for (std::size_t n = 0; n < static_cast<std::size_t>(N); ++n) {
    const float* row = packed + n * width;
    for (const auto& [dst, w] : parts) {
      std::copy(row, row + w, dst + n * w);
      row += w;
    }
  }
}
void join_cols(float* packed, int N, std::initializer_list<std::pair<const float*, int>> parts) {
  for (std::size_t n = 0; n < static_cast<std::size_t>(N); ++n)
    for (const auto& [src, w] : parts) packed = std::copy(src + n * w, src + (n + 1) * w, packed);
}

}  // namespace

TpModel::TpModel(const nn::ModelConfig& config, Communicator& tp, bool sequence_parallel, const TpCommOverlap& overlap)
    : config_(config), tp_(tp), sp_(sequence_parallel && tp.size() > 1), stream_(Device::cpu()) {
  config_.validate();
  slice_ = tp_slice(config_, tp.size(), tp.rank());
  layouts_ = tp_unit_layouts(config_, slice_);
  const auto& t = layouts_[1].tensors;
  bo_ = {t[0].offset, t[1].offset, t[2].offset, t[3].offset, t[4].offset,
         t[5].offset, t[6].offset, t[7].offset, t[8].offset, layouts_[1].size};
  const auto& h = layouts_.back().tensors;
  final_norm_ = h[0].offset;
  lm_head_ = config_.tied_embeddings ? 0 : h[1].offset;
  bound_.resize(layouts_.size());
  // The fused GEMMs read q/k/v_proj and gate/up_proj as one matrix each.
  const std::size_t C = config_.dim, hd = config_.head_dim();
  AWSDT_CHECK(bo_.wk == bo_.wq + slice_.heads * hd * C && bo_.wv == bo_.wk + slice_.kv_heads * hd * C &&
                  bo_.w_up == bo_.w_gate + static_cast<std::size_t>(slice_.ffn) * C,
              "TpModel: q/k/v_proj or gate/up_proj are not consecutive in the block unit");
  if (overlap.on && tp.size() > 1) overlap_ = std::make_unique<TpOverlap>(tp, overlap.method, overlap.chunks);
}

TpModel::~TpModel() = default;

void TpModel::set_recompute(bool on) {
  recompute_ = on;
  have_targets_ = false;  // the kept activations no longer match the mode: backward waits for a forward
  B_ = T_ = 0;            // and the next forward_begin sizes one block's intermediates or every block's
}

TpModel::Layer& TpModel::layer_acts(int l) { return layers_[static_cast<std::size_t>(recompute_ ? 0 : l)]; }

void TpModel::bind(int unit, const float* params, float* grads) {
  AWSDT_CHECK(unit >= 0 && unit < static_cast<int>(bound_.size()), "TpModel::bind: unit out of range");
  bound_[static_cast<std::size_t>(unit)] = {params, grads};
}

double TpModel::take_comm_ms() {
  const double ms = comm_ms_ + (overlap_ ? overlap_->take_exposed_ms() : 0.0);
  comm_ms_ = 0;
  return ms;
}

std::int64_t TpModel::activation_bytes() const {
  std::size_t n = residual_.size() + lnfs_.size() + lnf_.size() + logits_.size();
  for (const Layer& a : layers_)
    for (const auto* v :
         {&a.ln1s, &a.ln1, &a.q, &a.k, &a.v, &a.att, &a.atty, &a.res2, &a.ln2s, &a.ln2, &a.gate, &a.up, &a.h})
      n += v->size();
  return static_cast<std::int64_t>(n * sizeof(float));
}

// --- Collectives (timed: every one blocks the compute, so all of it is exposed).

void TpModel::all_reduce(float* x, std::size_t n, ReduceOp op) {
  if (tp_.size() == 1) return;
  const auto t0 = std::chrono::steady_clock::now();
  tp_.all_reduce(x, x, n, DataType::f32, op, stream_);
  stream_.synchronize();
  comm_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

const float* TpModel::gather_rows(const float* shard, float* out) {
  if (!sp_) return shard;
  const auto t0 = std::chrono::steady_clock::now();
  tp_.all_gather(shard, out, static_cast<std::size_t>(Ns_) * config_.dim, DataType::f32, stream_);
  stream_.synchronize();
  comm_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void TpModel::reduce_rows(float* partial, float* shard) {
  const std::size_t nc = static_cast<std::size_t>(N_) * config_.dim;
  if (!sp_) {
    all_reduce(partial, nc);
    if (shard != partial) std::copy(partial, partial + nc, shard);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  tp_.reduce_scatter(partial, shard, static_cast<std::size_t>(Ns_) * config_.dim, DataType::f32, ReduceOp::sum,
                     stream_);
  stream_.synchronize();
  comm_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void TpModel::add_norm_grad(float* grad, float* g) {
  if (sp_) all_reduce(g, static_cast<std::size_t>(config_.dim));
  for (int i = 0; i < config_.dim; ++i) grad[i] += g[i];
}

// Replicated key/value heads: each holder computed its query heads' share of its head's weight gradient; the
// group sums them per head (every rank puts its share in its head's place of a zeroed buffer).
void TpModel::add_kv_grads(float* gk, float* gv, float* Gk, float* Gv) {
  const std::size_t per = static_cast<std::size_t>(config_.head_dim()) * config_.dim;
  const std::size_t heads = static_cast<std::size_t>(config_.n_kv_heads);
  kvbuf_.assign(2 * heads * per, 0.0f);
  float* mine_k = kvbuf_.data() + static_cast<std::size_t>(slice_.kv_first) * per;
  float* mine_v = mine_k + heads * per;
  std::copy(gk, gk + per, mine_k);
  std::copy(gv, gv + per, mine_v);
  all_reduce(kvbuf_.data(), kvbuf_.size());
  for (std::size_t i = 0; i < per; ++i) {
    Gk[i] += mine_k[i];
    Gv[i] += mine_v[i];
  }
}

// --- The GEMMs next to the collectives. Without SP the column-parallel forward and the row-parallel backward need
// no communication; with overlap the others go through TpGemm's patterns instead of a GEMM and a collective.

void TpModel::column_forward(const float* shard, float* keep, const float* w, int n, float* out) {
  const int N = N_, C = config_.dim;
  if (overlap_ && sp_) {
    const float* gathered = overlap_->ag_gemm(shard, w, true, N, n, C, out);
    std::copy(gathered, gathered + static_cast<std::size_t>(N) * C, keep);
    return;
  }
  linear_forward(out, gather_rows(shard, keep), w, N, C, n);
}

void TpModel::row_forward(const float* in, const float* w, int k, float* shard) {
  const int N = N_, C = config_.dim;
  if (overlap_) {
    if (sp_) return overlap_->gemm_rs(in, w, true, N, C, k, shard);
    return overlap_->gemm_ar(in, w, true, N, C, k, shard);
  }
  linear_forward(partial_.data(), in, w, N, k, C);
  reduce_rows(partial_.data(), shard);
}

const float* TpModel::row_backward(const float* dshard, const float* w, int k, float* din) {
  const int N = N_, C = config_.dim;
  if (overlap_ && sp_) return overlap_->ag_gemm(dshard, w, false, N, k, C, din);
  const float* dout = gather_rows(dshard, full_.data());
  gemm(false, false, N, k, C, 1.0f, dout, C, w, k, 0.0f, din, k);
  return dout;
}

void TpModel::column_backward(const float* d, const float* w, int n, float* dshard) {
  const int N = N_, C = config_.dim;
  if (overlap_) {
    if (sp_) return overlap_->gemm_rs(d, w, false, N, C, n, dshard);
    return overlap_->gemm_ar(d, w, false, N, C, n, dshard);
  }
  gemm(false, false, N, C, n, 1.0f, d, n, w, C, 0.0f, dln_.data(), C);
  reduce_rows(dln_.data(), dshard);
}

void TpModel::weight_grad(float* dw, const float* dout, const float* inp, int IC, int OC) const {
  gemm(true, false, OC, IC, N_, 1.0f, dout, OC, inp, IC, 1.0f, dw, IC);
}

// --- Forward.

void TpModel::forward_begin(const std::int32_t* tokens, const std::int32_t* targets, int B, int T) {
  if (B <= 0 || T <= 0 || T > config_.max_seq_len) throw UsageError("forward: bad batch or sequence length");
  const int tp = tp_.size();
  N_ = B * T;
  AWSDT_CHECK(!sp_ || N_ % tp == 0, "TpModel: sequence parallelism needs B·T divisible by tp");
  Ns_ = sp_ ? N_ / tp : N_;
  if (B != B_ || T != T_) {
    B_ = B;
    T_ = T;
    const std::size_t C = config_.dim, N = N_, Ns = Ns_, hd = config_.head_dim();
    const std::size_t Q = slice_.heads * hd, KV = slice_.kv_heads * hd, F = slice_.ffn, V = slice_.vocab;
    layers_.assign(static_cast<std::size_t>(recompute_ ? 1 : config_.n_layers), Layer{});
    for (Layer& a : layers_) {
      size_all(Ns * C, a.ln1s, a.res2, a.ln2s);
      size_all(Ns, a.rstd1, a.rstd2);
      size_all(sp_ ? N * C : 0, a.ln1, a.ln2);
      size_all(N * Q, a.q, a.atty);
      size_all(N * KV, a.k, a.v);
      a.att.resize(static_cast<std::size_t>(B) * slice_.heads * T * T);
      size_all(N * F, a.gate, a.up, a.h);
    }
    residual_.resize((config_.n_layers + 1) * Ns * C);
    size_all(Ns * C, lnfs_, dres_);
    rstdf_.resize(Ns);
    lnf_.resize(sp_ ? N * C : 0);
    logits_.resize(N * V);
    size_all(N, row_max_, row_sum_);
    size_all(N * C, partial_, full_, dln_, dfull_);
    size_all(N * Q, dq_, datty_);
    size_all(N * KV, dk_, dv_);
    size_all(N * F, dgate_, dup_, dh_);
    ng_.resize(C);
    size_all(N * (Q + 2 * KV), qkv_, dqkv_);
    size_all(N * 2 * F, gu_, dgu_);
    rope_ = nn::model_rope_table(config_, T);
  }
  tokens_.assign(tokens, tokens + N_);
  have_targets_ = targets != nullptr;
  if (have_targets_) targets_.assign(targets, targets + N_);
}

// Vocab-parallel lookup: rows outside this rank's vocabulary are zero; the sum over the group is exact (one
// non-zero term per element).
void TpModel::forward_embedding() {
  const int C = config_.dim, v0 = slice_.vocab_first, V = slice_.vocab;
  const float* table = P(0);
  for (int n = 0; n < N_; ++n) {
    const int t = tokens_[static_cast<std::size_t>(n)];
    AWSDT_CHECK(t >= 0 && t < config_.vocab_size, "token id " + std::to_string(t) + " outside the vocabulary");
    float* out = partial_.data() + static_cast<std::size_t>(n) * C;
    if (t >= v0 && t < v0 + V)
      std::copy(table + static_cast<std::size_t>(t - v0) * C, table + static_cast<std::size_t>(t - v0 + 1) * C, out);
    else
      std::fill(out, out + C, 0.0f);
  }
  reduce_rows(partial_.data(), residual_.data());
}

void TpModel::forward_block(int l) {
  AWSDT_CHECK(l >= 0 && l < config_.n_layers, "TpModel::forward_block: layer out of range");
  block_forward_saved(l);
  // MLP output: out = res2 + down_proj(h), reduced over the group. Its backward needs none of these values, so
  // recomputation skips them (and their collective).
  const std::size_t NsC = static_cast<std::size_t>(Ns_) * config_.dim;
  const Layer& a = layer_acts(l);
  row_forward(a.h.data(), P(1 + l) + bo_.w_down, slice_.ffn, full_.data());
  residual_forward(residual_.data() + (l + 1) * NsC, a.res2.data(), full_.data(), NsC);
}

void TpModel::block_forward_saved(int l) {
  const int B = B_, T = T_, N = N_, Ns = Ns_, C = config_.dim, hd = config_.head_dim();
  const int Q = slice_.heads * hd, KV = slice_.kv_heads * hd, F = slice_.ffn;
  const std::size_t NsC = static_cast<std::size_t>(Ns) * C;
  const float* W = P(1 + l);
  const nn::BlockOffsets& o = bo_;
  Layer& a = layer_acts(l);
  const float* x = residual_.data() + l * NsC;

  rmsnorm_forward(a.ln1s.data(), a.rstd1.data(), x, W + o.attn_norm, Ns, C, config_.norm_eps);
  column_forward(a.ln1s.data(), a.ln1.data(), W + o.wq, Q + 2 * KV, qkv_.data());
  split_cols(qkv_.data(), N, {{a.q.data(), Q}, {a.k.data(), KV}, {a.v.data(), KV}});
  rope_forward(a.q.data(), rope_, B, T, slice_.heads, hd);
  rope_forward(a.k.data(), rope_, B, T, slice_.kv_heads, hd);
  attention_forward(a.atty.data(), a.att.data(), a.q.data(), a.k.data(), a.v.data(),
                    AttentionShape{B, T, slice_.heads, slice_.kv_heads, hd});
  row_forward(a.atty.data(), W + o.wo, Q, full_.data());
  residual_forward(a.res2.data(), x, full_.data(), NsC);

  rmsnorm_forward(a.ln2s.data(), a.rstd2.data(), a.res2.data(), W + o.mlp_norm, Ns, C, config_.norm_eps);
  column_forward(a.ln2s.data(), a.ln2.data(), W + o.w_gate, 2 * F, gu_.data());
  split_cols(gu_.data(), N, {{a.gate.data(), F}, {a.up.data(), F}});
  swiglu_forward(a.h.data(), a.gate.data(), a.up.data(), static_cast<std::size_t>(N) * F);
}

// Vocab-parallel cross-entropy (Megatron's _VocabParallelCrossEntropy): per token the group's max, then the
// sum of exp(z − max) and the target's logit (held by one rank, zero elsewhere).
float TpModel::forward_head() {
  const int N = N_, Ns = Ns_, C = config_.dim, V = slice_.vocab, v0 = slice_.vocab_first;
  const float* x = residual_.data() + static_cast<std::size_t>(config_.n_layers) * Ns * C;
  rmsnorm_forward(lnfs_.data(), rstdf_.data(), x, P(head_unit()) + final_norm_, Ns, C, config_.norm_eps);
  const float* wlm = config_.tied_embeddings ? P(0) : P(head_unit()) + lm_head_;
  column_forward(lnfs_.data(), lnf_.data(), wlm, V, logits_.data());
  if (!have_targets_) return 0.0f;
  for (int n = 0; n < N; ++n) {
    const float* z = logits_.data() + static_cast<std::size_t>(n) * V;
    row_max_[static_cast<std::size_t>(n)] = *std::max_element(z, z + V);
  }
  all_reduce(row_max_.data(), row_max_.size(), ReduceOp::max);
  std::vector<float> sums(2 * static_cast<std::size_t>(N), 0.0f);  // [sum of exp | target logit]
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    float* z = logits_.data() + static_cast<std::size_t>(n) * V;
    const float m = row_max_[static_cast<std::size_t>(n)];
    const int y = targets_[static_cast<std::size_t>(n)];
    if (y >= v0 && y < v0 + V) sums[static_cast<std::size_t>(N + n)] = z[y - v0];
    float s = 0;
    for (int i = 0; i < V; ++i) {
      z[i] = simd_exp(z[i] - m);  // the logits become exp(z − max), then probabilities
      s += z[i];
    }
    sums[static_cast<std::size_t>(n)] = s;
  }
  all_reduce(sums.data(), sums.size());
  double loss = 0;
  int valid = 0;
  for (int n = 0; n < N; ++n) {
    const float s = sums[static_cast<std::size_t>(n)];
    row_sum_[static_cast<std::size_t>(n)] = s;
    float* p = logits_.data() + static_cast<std::size_t>(n) * V;
    for (int i = 0; i < V; ++i) p[i] /= s;
    if (targets_[static_cast<std::size_t>(n)] < 0) continue;
    AWSDT_CHECK(targets_[static_cast<std::size_t>(n)] < config_.vocab_size, "target id outside the vocabulary");
    ++valid;
    loss += std::log(static_cast<double>(s)) +
            static_cast<double>(row_max_[static_cast<std::size_t>(n)] - sums[static_cast<std::size_t>(N + n)]);
  }
  return valid == 0 ? 0.0f : static_cast<float>(loss / valid);
}

// --- Backward.

void TpModel::backward_head() {
  AWSDT_CHECK(have_targets_, "TpModel::backward needs a forward with targets first");
  const int N = N_, Ns = Ns_, C = config_.dim, V = slice_.vocab, v0 = slice_.vocab_first;
  int valid = 0;
  for (int n = 0; n < N; ++n) valid += targets_[static_cast<std::size_t>(n)] >= 0 ? 1 : 0;
  const float scale = valid == 0 ? 0.0f : 1.0f / static_cast<float>(valid);
  // dlogits = (p − onehot) / valid, in place of the probabilities.
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    float* d = logits_.data() + static_cast<std::size_t>(n) * V;
    const int y = targets_[static_cast<std::size_t>(n)];
    if (y < 0) {
      std::fill(d, d + V, 0.0f);
      continue;
    }
    for (int i = 0; i < V; ++i) d[i] = scale * (d[i] - (i == y - v0 ? 1.0f : 0.0f));
  }
  const float* lnf = sp_ ? lnf_.data() : lnfs_.data();
  const float* wlm = config_.tied_embeddings ? P(0) : P(head_unit()) + lm_head_;
  float* glm = config_.tied_embeddings ? G(0) : G(head_unit()) + lm_head_;
  column_backward(logits_.data(), wlm, V, dfull_.data());
  weight_grad(glm, logits_.data(), lnf, C, V);
  const float* x = residual_.data() + static_cast<std::size_t>(config_.n_layers) * Ns * C;
  fill0(dres_);
  fill0(ng_);
  rmsnorm_backward(dres_.data(), ng_.data(), dfull_.data(), x, P(head_unit()) + final_norm_, rstdf_.data(), Ns, C);
  add_norm_grad(G(head_unit()) + final_norm_, ng_.data());
}

// On entry dres_ holds ∂loss/∂(block output) on this rank's rows; on exit ∂loss/∂(block input).
void TpModel::backward_block(int l) {
  AWSDT_CHECK(l >= 0 && l < config_.n_layers, "TpModel::backward_block: layer out of range");
  // The same ops, collectives included, on the same input and params as the forward: the same values again.
  if (recompute_) block_forward_saved(l);
  const int B = B_, T = T_, N = N_, Ns = Ns_, C = config_.dim, hd = config_.head_dim();
  const int Q = slice_.heads * hd, KV = slice_.kv_heads * hd, F = slice_.ffn;
  const float* W = P(1 + l);
  float* Gw = G(1 + l);
  const nn::BlockOffsets& o = bo_;
  const Layer& a = layer_acts(l);
  const float* x = residual_.data() + static_cast<std::size_t>(l) * Ns * C;
  const float* ln1 = sp_ ? a.ln1.data() : a.ln1s.data();
  const float* ln2 = sp_ ? a.ln2.data() : a.ln2s.data();

  // MLP: the row-parallel down_proj's output gradient is the whole residual gradient (gathered with SP).
  const float* dout = row_backward(dres_.data(), W + o.w_down, F, dh_.data());
  weight_grad(Gw + o.w_down, dout, a.h.data(), F, C);
  swiglu_backward(dgate_.data(), dup_.data(), dh_.data(), a.gate.data(), a.up.data(), static_cast<std::size_t>(N) * F,
                  InputGrad::overwrite);
  join_cols(dgu_.data(), N, {{dgate_.data(), F}, {dup_.data(), F}});
  column_backward(dgu_.data(), W + o.w_gate, 2 * F, dfull_.data());  // partial sums over the group, reduced
  weight_grad(Gw + o.w_gate, dgate_.data(), ln2, C, F);
  weight_grad(Gw + o.w_up, dup_.data(), ln2, C, F);
  fill0(ng_);
  rmsnorm_backward(dres_.data(), ng_.data(), dfull_.data(), a.res2.data(), W + o.mlp_norm, a.rstd2.data(), Ns, C);
  add_norm_grad(Gw + o.mlp_norm, ng_.data());

  // Attention.
  dout = row_backward(dres_.data(), W + o.wo, Q, datty_.data());
  weight_grad(Gw + o.wo, dout, a.atty.data(), Q, C);
  fill0(dq_);
  fill0(dk_);
  fill0(dv_);
  const AttentionShape shape{B, T, slice_.heads, slice_.kv_heads, hd};
  attention_backward(dq_.data(), dk_.data(), dv_.data(), datty_.data(), a.q.data(), a.k.data(), a.v.data(),
                     a.att.data(), shape);
  rope_backward(dq_.data(), rope_, B, T, slice_.heads, hd);
  rope_backward(dk_.data(), rope_, B, T, slice_.kv_heads, hd);
  join_cols(dqkv_.data(), N, {{dq_.data(), Q}, {dk_.data(), KV}, {dv_.data(), KV}});
  column_backward(dqkv_.data(), W + o.wq, Q + 2 * KV, dfull_.data());
  weight_grad(Gw + o.wq, dq_.data(), ln1, C, Q);
  if (slice_.kv_replicated) {
    std::vector<float> gk(static_cast<std::size_t>(KV) * C, 0.0f), gv(gk.size(), 0.0f);
    weight_grad(gk.data(), dk_.data(), ln1, C, KV);
    weight_grad(gv.data(), dv_.data(), ln1, C, KV);
    add_kv_grads(gk.data(), gv.data(), Gw + o.wk, Gw + o.wv);
  } else {
    weight_grad(Gw + o.wk, dk_.data(), ln1, C, KV);
    weight_grad(Gw + o.wv, dv_.data(), ln1, C, KV);
  }
  fill0(ng_);
  rmsnorm_backward(dres_.data(), ng_.data(), dfull_.data(), x, W + o.attn_norm, a.rstd1.data(), Ns, C);
  add_norm_grad(Gw + o.attn_norm, ng_.data());
}

void TpModel::backward_embedding() {
  const int C = config_.dim, v0 = slice_.vocab_first, V = slice_.vocab;
  const float* d = gather_rows(dres_.data(), full_.data());
  float* table = G(0);
  for (int n = 0; n < N_; ++n) {
    const int t = tokens_[static_cast<std::size_t>(n)];
    if (t < v0 || t >= v0 + V) continue;
    float* row = table + static_cast<std::size_t>(t - v0) * C;
    const float* g = d + static_cast<std::size_t>(n) * C;
    for (int c = 0; c < C; ++c) row[c] += g[c];
  }
}

}  // namespace awsdt::train
