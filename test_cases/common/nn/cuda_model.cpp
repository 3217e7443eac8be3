// CudaModel: the forward and backward of nn::Model (model.cpp) in the same order, on the CUDA layers of
// kernels/cuda. Differences from the CPU engine, all for memory or speed on GPUs: activations are bf16; the
// attention keeps only each row's log-sum-exp, not the T×T probabilities; the cross-entropy writes ∂loss/∂logits
// over the logits during the forward (llm.c's fused classifier); one residual-gradient buffer is updated in
// place through the blocks (each RMSNorm backward adds its share to it).
#include "nn/cuda_model.hpp"
#include "nn/unit_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "device/device.hpp"
#include "kernels/cuda/linear.hpp"
#include "kernels/cuda/chunked_attention.hpp"
#include "kernels/cuda/llama_attention.hpp"
#include "kernels/cuda/llama_layers.hpp"
#include "nn/layout.hpp"
#include "nn/rope.hpp"
#include "util/error.hpp"

namespace awsdt::nn {

namespace k = kernels::cuda;
using k::Bf16;

namespace {

constexpr std::size_t kBf16 = sizeof(Bf16), kF32 = sizeof(float);

// One unit on the GPU: fp32 master weights, their bf16 copy for compute, fp32 gradients and AdamW moments.
struct DeviceUnit {
  UnitLayout layout;
  std::vector<DecaySegment> segments;
  Buffer master, compute, grads, m, v;
};

// One transformer block's saved activations (bf16 unless noted).
struct BlockActs {
  Buffer ln1, rstd1;   // [N,C], rstd fp32 [N]
  Buffer q, k, v;      // after RoPE: [N,C], [N,KV], [N,KV]
  Buffer atty, lse;    // attention output [N,C], log-sum-exp fp32 [B,NH,T]
  Buffer res2;         // residual after attention [N,C]
  Buffer ln2, rstd2;   // [N,C], fp32 [N]
  Buffer gate, up, h;  // [N,F]
};

}  // namespace

struct CudaModel::Impl {
  ModelConfig cfg;
  Device dev;
  Stream stream;
  k::LinearContext linear;
  BlockOffsets o;
  HeadOffsets ho;
  std::vector<DeviceUnit> units;
  std::int64_t adam_steps = 0;
  bool recompute = false;

  // Activations and gradient scratch for the current (B, T).
  int B = 0, T = 0;
  bool have_targets = false;
  int valid_targets = 0;
  float dloss_scale = 0;
  Buffer tokens, targets, residual, lnf, rstdf, logits, losses, proj, rope_cos, rope_sin;
  std::vector<BlockActs> blocks;
  Buffer dres, dln, dq, dk, dv, datty, dgate, dup, dh, attn_scratch, attn_work, norm_acc;
  AttentionKernel attention = AttentionKernel::automatic;
  bool chunked = false;  // the chunked tensor-core attention runs (else the flash-style kernels)
  std::vector<float> host_losses;

  Impl(const ModelConfig& c, int device)
      : cfg(c),
        dev(Device::cuda(device)),
        stream((dev.make_current(), dev)),
        o(block_offsets(c)),
        ho(head_offsets(c)),
        weights(static_cast<std::size_t>(c.n_layers) + 2, nullptr),
        grad_ptrs(weights.size(), nullptr) {}

  void* s() { return stream.native_handle(); }
  Buffer dbuf(std::size_t bytes) { return Buffer(bytes, MemoryKind::Device, dev); }
  template <class T>
  static T* p(Buffer& b) {
    return b.as<T>();
  }
  int N() const { return B * T; }
  // What each unit computes with: its own buffers, or the ones bind() gave.
  std::vector<Bf16*> weights;
  std::vector<float*> grad_ptrs;
  Bf16* w(int unit, std::size_t offset) { return bound(weights, unit) + offset; }
  float* g(int unit, std::size_t offset) { return bound(grad_ptrs, unit) + offset; }
  template <class T>
  static T* bound(const std::vector<T*>& table, int unit) {
    T* ptr = table[static_cast<std::size_t>(unit)];
    AWSDT_CHECK(ptr != nullptr, "CudaModel: unit " + std::to_string(unit) + " has no buffers (bind it first)");
    return ptr;
  }
  int head_unit() const { return cfg.n_layers + 1; }
  Bf16* resid(int layer) { return p<Bf16>(residual) + static_cast<std::size_t>(layer) * N() * cfg.dim; }
  int lm_unit() const { return cfg.tied_embeddings ? 0 : head_unit(); }
  std::size_t lm_offset() const { return cfg.tied_embeddings ? 0 : ho.lm_head; }

  void resize(int b, int t) {
    if (b == B && t == T) return;
    B = T = 0;  // until every buffer below exists: a failed allocation must not leave a half-sized set behind
    const std::size_t n = static_cast<std::size_t>(b) * t, C = cfg.dim, KV = cfg.kv_dim(), F = cfg.ffn_dim,
                      V = cfg.vocab_size, heads_rows = static_cast<std::size_t>(b) * cfg.n_heads * t;
    tokens = dbuf(n * sizeof(std::int32_t));
    targets = dbuf(n * sizeof(std::int32_t));
    residual = dbuf((cfg.n_layers + 1) * n * C * kBf16);
    lnf = dbuf(n * C * kBf16);
    rstdf = dbuf(n * kF32);
    logits = dbuf(n * V * kBf16);
    losses = dbuf(n * kF32);
    proj = dbuf(n * C * kBf16);
    blocks.clear();
    for (int l = 0; l < (recompute ? 1 : cfg.n_layers); ++l) {
      BlockActs a;
      a.ln1 = dbuf(n * C * kBf16);
      a.rstd1 = dbuf(n * kF32);
      a.q = dbuf(n * C * kBf16);
      a.k = dbuf(n * KV * kBf16);
      a.v = dbuf(n * KV * kBf16);
      a.atty = dbuf(n * C * kBf16);
      a.lse = dbuf(heads_rows * kF32);
      a.res2 = dbuf(n * C * kBf16);
      a.ln2 = dbuf(n * C * kBf16);
      a.rstd2 = dbuf(n * kF32);
      a.gate = dbuf(n * F * kBf16);
      a.up = dbuf(n * F * kBf16);
      a.h = dbuf(n * F * kBf16);
      blocks.push_back(std::move(a));
    }
    dres = dbuf(n * C * kBf16);
    dln = dbuf(n * C * kBf16);
    dq = dbuf(n * C * kBf16);
    dk = dbuf(n * KV * kBf16);
    dv = dbuf(n * KV * kBf16);
    datty = dbuf(n * C * kBf16);
    dgate = dbuf(n * F * kBf16);
    dup = dbuf(n * F * kBf16);
    dh = dbuf(n * F * kBf16);
    attn_scratch = dbuf(heads_rows * kF32);
    chunked = use_chunked();
    attn_work = chunked ? dbuf(k::chunked_attention_layout(attention_shape_for(b, t)).bytes) : Buffer();
    host_losses.resize(n);
    // RoPE tables for positions [0, T), the CPU engine's values (Llama-3 scaling included).
    const auto table = model_rope_table(cfg, t);
    rope_cos = dbuf(table.cos.size() * kF32);
    rope_sin = dbuf(table.sin.size() * kF32);
    copy_async(rope_cos.data(), table.cos.data(), rope_cos.bytes(), stream);
    copy_async(rope_sin.data(), table.sin.data(), rope_sin.bytes(), stream);
    stream.synchronize();  // the host table dies here
    B = b;
    T = t;
  }

  k::AttentionShape attention_shape() const { return attention_shape_for(B, T); }
  k::AttentionShape attention_shape_for(int b, int t) const {
    return {b, t, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim()};
  }
  bool use_chunked() const { return runs_chunked_attention(attention, cfg); }

  BlockActs& acts(int l) { return blocks[recompute ? 0 : l]; }

  void block_forward(int l) {
    block_forward_saved(l);
    // MLP output: out = res2 + down_proj(h). Its backward needs none of these values, so recomputation skips them.
    const int n = N(), C = cfg.dim, F = cfg.ffn_dim, u = 1 + l;
    BlockActs& a = acts(l);
    linear.forward(p<Bf16>(proj), p<Bf16>(a.h), w(u, o.w_down), n, F, C, s());
    k::residual_forward(resid(l + 1), p<Bf16>(a.res2), p<Bf16>(proj), static_cast<std::size_t>(n) * C, s());
  }

  // Block l's forward up to what its backward reads: everything but down_proj and the last residual add.
  void block_forward_saved(int l) {
    const int n = N(), C = cfg.dim, KV = cfg.kv_dim(), F = cfg.ffn_dim, u = 1 + l;
    const std::size_t NC = static_cast<std::size_t>(n) * C;
    BlockActs& a = acts(l);
    Bf16* x = resid(l);
    k::rmsnorm_forward(p<Bf16>(a.ln1), p<float>(a.rstd1), x, w(u, o.attn_norm), n, C, float(cfg.norm_eps), s());
    linear.forward(p<Bf16>(a.q), p<Bf16>(a.ln1), w(u, o.wq), n, C, C, s());
    linear.forward(p<Bf16>(a.k), p<Bf16>(a.ln1), w(u, o.wk), n, C, KV, s());
    linear.forward(p<Bf16>(a.v), p<Bf16>(a.ln1), w(u, o.wv), n, C, KV, s());
    k::rope_forward(p<Bf16>(a.q), p<float>(rope_cos), p<float>(rope_sin), B, T, cfg.n_heads, cfg.head_dim(), s());
    k::rope_forward(p<Bf16>(a.k), p<float>(rope_cos), p<float>(rope_sin), B, T, cfg.n_kv_heads, cfg.head_dim(), s());
    if (chunked)
      k::chunked_attention_forward(p<Bf16>(a.atty), p<float>(a.lse), p<Bf16>(a.q), p<Bf16>(a.k), p<Bf16>(a.v),
                                   attention_shape(), attn_work.data(), s());
    else
      k::attention_forward(p<Bf16>(a.atty), p<float>(a.lse), p<Bf16>(a.q), p<Bf16>(a.k), p<Bf16>(a.v),
                           attention_shape(), s());
    linear.forward(p<Bf16>(proj), p<Bf16>(a.atty), w(u, o.wo), n, C, C, s());
    k::residual_forward(p<Bf16>(a.res2), x, p<Bf16>(proj), NC, s());
    k::rmsnorm_forward(p<Bf16>(a.ln2), p<float>(a.rstd2), p<Bf16>(a.res2), w(u, o.mlp_norm), n, C, float(cfg.norm_eps),
                       s());
    linear.forward(p<Bf16>(a.gate), p<Bf16>(a.ln2), w(u, o.w_gate), n, C, F, s());
    linear.forward(p<Bf16>(a.up), p<Bf16>(a.ln2), w(u, o.w_up), n, C, F, s());
    k::swiglu_forward(p<Bf16>(a.h), p<Bf16>(a.gate), p<Bf16>(a.up), static_cast<std::size_t>(n) * F, s());
  }

  // On entry dres holds ∂loss/∂(block output); on exit ∂loss/∂(block input).
  void block_backward(int l) {
    // The same kernels on the same input and weights as the forward: the rebuilt activations are the saved ones.
    if (recompute) block_forward_saved(l);
    const int n = N(), C = cfg.dim, KV = cfg.kv_dim(), F = cfg.ffn_dim, u = 1 + l;
    BlockActs& a = acts(l);
    // MLP: out = res2 + down(h), so ∂/∂branch = ∂/∂out = dres, and dres also flows on to res2.
    linear.backward(p<Bf16>(dh), k::InputGrad::overwrite, g(u, o.w_down), p<Bf16>(dres), p<Bf16>(a.h), w(u, o.w_down),
                    n, F, C, s());
    k::swiglu_backward(p<Bf16>(dgate), p<Bf16>(dup), p<Bf16>(dh), p<Bf16>(a.gate), p<Bf16>(a.up),
                       static_cast<std::size_t>(n) * F, s());
    linear.backward(p<Bf16>(dln), k::InputGrad::overwrite, g(u, o.w_gate), p<Bf16>(dgate), p<Bf16>(a.ln2),
                    w(u, o.w_gate), n, C, F, s());
    linear.backward(p<Bf16>(dln), k::InputGrad::accumulate, g(u, o.w_up), p<Bf16>(dup), p<Bf16>(a.ln2), w(u, o.w_up), n,
                    C, F, s());
    k::rmsnorm_backward(p<Bf16>(dres), g(u, o.mlp_norm), p<Bf16>(dln), p<Bf16>(a.res2), w(u, o.mlp_norm),
                        p<float>(a.rstd2), n, C, s());
    // Attention: res2 = x + o_proj(attention), the same pattern.
    linear.backward(p<Bf16>(datty), k::InputGrad::overwrite, g(u, o.wo), p<Bf16>(dres), p<Bf16>(a.atty), w(u, o.wo), n,
                    C, C, s());
    if (chunked)
      k::chunked_attention_backward(p<Bf16>(dq), p<Bf16>(dk), p<Bf16>(dv), p<Bf16>(datty), p<Bf16>(a.atty),
                                    p<Bf16>(a.q), p<Bf16>(a.k), p<Bf16>(a.v), p<float>(a.lse), p<float>(attn_scratch),
                                    attention_shape(), attn_work.data(), s());
    else
      k::attention_backward(p<Bf16>(dq), p<Bf16>(dk), p<Bf16>(dv), p<Bf16>(datty), p<Bf16>(a.atty), p<Bf16>(a.q),
                            p<Bf16>(a.k), p<Bf16>(a.v), p<float>(a.lse), p<float>(attn_scratch), attention_shape(),
                            s());
    k::rope_backward(p<Bf16>(dq), p<float>(rope_cos), p<float>(rope_sin), B, T, cfg.n_heads, cfg.head_dim(), s());
    k::rope_backward(p<Bf16>(dk), p<float>(rope_cos), p<float>(rope_sin), B, T, cfg.n_kv_heads, cfg.head_dim(), s());
    linear.backward(p<Bf16>(dln), k::InputGrad::overwrite, g(u, o.wq), p<Bf16>(dq), p<Bf16>(a.ln1), w(u, o.wq), n, C, C,
                    s());
    linear.backward(p<Bf16>(dln), k::InputGrad::accumulate, g(u, o.wk), p<Bf16>(dk), p<Bf16>(a.ln1), w(u, o.wk), n, C,
                    KV, s());
    linear.backward(p<Bf16>(dln), k::InputGrad::accumulate, g(u, o.wv), p<Bf16>(dv), p<Bf16>(a.ln1), w(u, o.wv), n, C,
                    KV, s());
    k::rmsnorm_backward(p<Bf16>(dres), g(u, o.attn_norm), p<Bf16>(dln), resid(l), w(u, o.attn_norm), p<float>(a.rstd1),
                        n, C, s());
  }
};

namespace {

void check_device(int device) {
  if (device < 0 || device >= cuda_device_count()) {
    throw UsageError("--device cuda:" + std::to_string(device) + ": " + std::to_string(cuda_device_count()) +
                     " CUDA device(s) visible");
  }
}

}  // namespace

CudaModel::CudaModel(const ModelConfig& config, int device) {
  config.validate();
  check_device(device);
  impl_ = std::make_unique<Impl>(config, device);
  impl_->norm_acc = impl_->dbuf(sizeof(double));
}

CudaModel::CudaModel(const Model& init, int device) : CudaModel(init.config(), device) {
  Impl& m = *impl_;
  for (const ParamUnit& host : init.units()) {
    DeviceUnit d;
    d.layout = host.layout;
    d.segments = decay_segments(host.layout);
    const std::size_t n = host.layout.size;
    d.master = m.dbuf(n * kF32);
    d.compute = m.dbuf(n * kBf16);
    d.grads = m.dbuf(n * kF32);
    d.m = m.dbuf(n * kF32);
    d.v = m.dbuf(n * kF32);
    copy_async(d.master.data(), host.params.data(), n * kF32, m.stream);
    k::cast_to_bf16(d.compute.as<Bf16>(), d.master.as<float>(), n, m.s());
    memset_async(d.grads.data(), 0, n * kF32, m.stream);
    memset_async(d.m.data(), 0, n * kF32, m.stream);
    memset_async(d.v.data(), 0, n * kF32, m.stream);
    m.weights[m.units.size()] = d.compute.as<Bf16>();
    m.grad_ptrs[m.units.size()] = d.grads.as<float>();
    m.units.push_back(std::move(d));
  }
  m.stream.synchronize();
}

CudaModel::~CudaModel() = default;

const ModelConfig& CudaModel::config() const { return impl_->cfg; }

void CudaModel::set_recompute(bool on) {
  Impl& m = *impl_;
  if (on == m.recompute) return;
  m.recompute = on;
  m.B = m.T = 0;  // one block's activations instead of every block's (or back): reallocate at the next forward
  m.have_targets = false;
}

bool CudaModel::recompute() const { return impl_->recompute; }

void CudaModel::set_attention(AttentionKernel kernel) {
  Impl& m = *impl_;
  if (kernel == m.attention) return;
  const AttentionKernel before = m.attention;
  m.attention = kernel;
  try {
    m.use_chunked();  // an impossible choice fails now, not at the first forward
  } catch (...) {
    m.attention = before;
    throw;
  }
  m.B = m.T = 0;  // the workspace follows the kernel: reallocate at the next forward
  m.have_targets = false;
}

bool CudaModel::chunked_attention() const {
  const Impl& m = *impl_;
  return m.use_chunked();
}

void CudaModel::bind(int unit, const void* params, float* grads) {
  Impl& m = *impl_;
  AWSDT_CHECK(unit >= 0 && unit < static_cast<int>(m.weights.size()), "CudaModel::bind: unit out of range");
  // The kernels only read weights; the table is non-const because the model's own copy is refreshed in place.
  m.weights[static_cast<std::size_t>(unit)] = static_cast<Bf16*>(const_cast<void*>(params));
  m.grad_ptrs[static_cast<std::size_t>(unit)] = grads;
}

float CudaModel::forward(const std::int32_t* tokens, const std::int32_t* targets, int B, int T, float grad_weight) {
  forward_begin(tokens, targets, B, T, grad_weight);
  forward_embedding();
  for (int l = 0; l < impl_->cfg.n_layers; ++l) forward_block(l);
  return forward_head();
}

void CudaModel::forward_begin(const std::int32_t* tokens, const std::int32_t* targets, int B, int T,
                              float grad_weight) {
  Impl& m = *impl_;
  const ModelConfig& c = m.cfg;
  if (B <= 0 || T <= 0) throw UsageError("forward: batch and sequence length must be positive");
  if (T > c.max_seq_len) {
    throw UsageError("forward: sequence length " + std::to_string(T) + " exceeds max_seq_len " +
                     std::to_string(c.max_seq_len));
  }
  const int n = B * T;
  for (int i = 0; i < n; ++i) {  // the kernels trust their ids; a bad one is reported here, on the host
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size || (targets && targets[i] >= c.vocab_size)) {
      const int bad = tokens[i] < 0 || tokens[i] >= c.vocab_size ? tokens[i] : targets[i];
      throw UsageError("token id " + std::to_string(bad) + " outside the vocabulary [0, " +
                       std::to_string(c.vocab_size) + ")");
    }
  }
  m.dev.make_current();
  m.resize(B, T);
  copy_async(m.tokens.data(), tokens, static_cast<std::size_t>(n) * sizeof(std::int32_t), m.stream);
  m.have_targets = targets != nullptr;
  m.valid_targets = 0;
  if (m.have_targets) {
    m.valid_targets = static_cast<int>(std::count_if(targets, targets + n, [](std::int32_t t) { return t >= 0; }));
    copy_async(m.targets.data(), targets, static_cast<std::size_t>(n) * sizeof(std::int32_t), m.stream);
  }
  // Mean over the valid targets, weighted: every gradient of the backward inherits this factor.
  m.dloss_scale = m.valid_targets > 0 ? grad_weight / static_cast<float>(m.valid_targets) : 0.0f;
  // The host arrays may change once this returns: the copies above must have read them.
  m.stream.synchronize();
}

void CudaModel::forward_embedding() {
  Impl& m = *impl_;
  m.dev.make_current();
  k::embedding_forward(m.resid(0), m.p<std::int32_t>(m.tokens), m.w(0, 0), m.N(), m.cfg.dim, m.s());
}

void CudaModel::forward_block(int layer) {
  AWSDT_CHECK(layer >= 0 && layer < impl_->cfg.n_layers, "CudaModel::forward_block: layer out of range");
  impl_->dev.make_current();
  impl_->block_forward(layer);
}

float CudaModel::forward_head() {
  Impl& m = *impl_;
  const ModelConfig& c = m.cfg;
  const int n = m.N();
  m.dev.make_current();
  k::rmsnorm_forward(m.p<Bf16>(m.lnf), m.p<float>(m.rstdf), m.resid(c.n_layers), m.w(m.head_unit(), m.ho.final_norm), n,
                     c.dim, float(c.norm_eps), m.s());
  m.linear.forward(m.p<Bf16>(m.logits), m.p<Bf16>(m.lnf), m.w(m.lm_unit(), m.lm_offset()), n, c.dim, c.vocab_size,
                   m.s());
  if (!m.have_targets) {
    m.stream.synchronize();
    return 0.0f;
  }
  k::cross_entropy_fused(m.p<Bf16>(m.logits), m.p<float>(m.losses), m.p<Bf16>(m.logits), m.p<std::int32_t>(m.targets),
                         n, c.vocab_size, m.dloss_scale, m.s());
  copy_async(m.host_losses.data(), m.losses.data(), static_cast<std::size_t>(n) * kF32, m.stream);
  m.stream.synchronize();
  double sum = 0;
  for (float l : m.host_losses) sum += l;
  return m.valid_targets > 0 ? static_cast<float>(sum / m.valid_targets) : 0.0f;
}

void CudaModel::backward() {
  backward_head();
  for (int l = impl_->cfg.n_layers - 1; l >= 0; --l) backward_block(l);
  backward_embedding();
}

void CudaModel::backward_head() {
  Impl& m = *impl_;
  const ModelConfig& c = m.cfg;
  AWSDT_CHECK(m.have_targets, "CudaModel::backward needs a forward with targets first");
  m.dev.make_current();
  const int n = m.N();
  // The forward left ∂(grad_weight · loss)/∂logits in `logits`.
  m.linear.backward(m.p<Bf16>(m.dln), k::InputGrad::overwrite, m.g(m.lm_unit(), m.lm_offset()), m.p<Bf16>(m.logits),
                    m.p<Bf16>(m.lnf), m.w(m.lm_unit(), m.lm_offset()), n, c.dim, c.vocab_size, m.s());
  memset_async(m.dres.data(), 0, m.dres.bytes(), m.stream);
  k::rmsnorm_backward(m.p<Bf16>(m.dres), m.g(m.head_unit(), m.ho.final_norm), m.p<Bf16>(m.dln), m.resid(c.n_layers),
                      m.w(m.head_unit(), m.ho.final_norm), m.p<float>(m.rstdf), n, c.dim, m.s());
  m.have_targets = false;  // the logits buffer now holds gradients consumed above
}

void CudaModel::backward_block(int layer) {
  AWSDT_CHECK(layer >= 0 && layer < impl_->cfg.n_layers, "CudaModel::backward_block: layer out of range");
  impl_->dev.make_current();
  impl_->block_backward(layer);
}

void CudaModel::backward_embedding() {
  Impl& m = *impl_;
  m.dev.make_current();
  k::embedding_backward(m.g(0, 0), m.p<std::int32_t>(m.tokens), m.p<Bf16>(m.dres), m.N(), m.cfg.dim, m.s());
}

void CudaModel::zero_grad() {
  Impl& m = *impl_;
  m.dev.make_current();
  for (DeviceUnit& u : m.units) memset_async(u.grads.data(), 0, u.grads.bytes(), m.stream);
}

double CudaModel::optimizer_step(const AdamWOptions& options, double lr, double grad_clip) {
  Impl& m = *impl_;
  m.dev.make_current();
  memset_async(m.norm_acc.data(), 0, sizeof(double), m.stream);
  for (DeviceUnit& u : m.units)
    k::add_sum_of_squares(m.norm_acc.as<double>(), u.grads.as<float>(), u.layout.size, m.s());
  double sq = 0;
  copy_async(&sq, m.norm_acc.data(), sizeof(double), m.stream);
  m.stream.synchronize();
  const double norm = std::sqrt(sq);
  const double coef = clip_coefficient(norm, grad_clip);
  AdamWScalars h = adamw_scalars(options, lr, ++m.adam_steps);
  h.grad_scale = static_cast<float>(coef);
  for (DeviceUnit& u : m.units) {
    for (const DecaySegment& seg : u.segments) {
      AdamWScalars hs = h;
      if (!seg.decay) hs.decay_factor = 1.0f;
      k::adamw_step(u.master.as<float>() + seg.offset, u.compute.as<Bf16>() + seg.offset,
                    u.grads.as<float>() + seg.offset, u.m.as<float>() + seg.offset, u.v.as<float>() + seg.offset,
                    seg.size, hs, m.s());
    }
  }
  return norm;
}

void CudaModel::download(std::vector<ParamUnit>& units, bool grads) const {
  Impl& m = *impl_;
  AWSDT_CHECK(units.size() == m.units.size(), "CudaModel::download: unit count differs");
  for (std::size_t i = 0; i < units.size(); ++i) {
    AWSDT_CHECK(units[i].params.size() == m.units[i].layout.size, "CudaModel::download: unit size differs");
    AWSDT_CHECK(!grads || units[i].grads.size() == m.units[i].layout.size,
                "CudaModel::download: gradient buffer size differs");
    copy_async(units[i].params.data(), m.units[i].master.data(), m.units[i].master.bytes(), m.stream);
    if (grads) copy_async(units[i].grads.data(), m.units[i].grads.data(), m.units[i].grads.bytes(), m.stream);
  }
  m.stream.synchronize();
}

std::int64_t CudaModel::activation_bytes() const {
  const Impl& m = *impl_;
  std::int64_t total = 0;
  for (const Buffer* b : {&m.tokens, &m.targets,  &m.residual, &m.lnf,  &m.rstdf, &m.logits,       &m.losses,
                          &m.proj,   &m.rope_cos, &m.rope_sin, &m.dres, &m.dln,   &m.dq,           &m.dk,
                          &m.dv,     &m.datty,    &m.dgate,    &m.dup,  &m.dh,    &m.attn_scratch, &m.attn_work})
    total += static_cast<std::int64_t>(b->bytes());
  for (const BlockActs& a : m.blocks)
    for (const Buffer* b :
         {&a.ln1, &a.rstd1, &a.q, &a.k, &a.v, &a.atty, &a.lse, &a.res2, &a.ln2, &a.rstd2, &a.gate, &a.up, &a.h})
      total += static_cast<std::int64_t>(b->bytes());
  return total;
}

std::int64_t CudaModel::device_bytes() const {
  const Impl& m = *impl_;
  std::int64_t total =
      static_cast<std::int64_t>(m.norm_acc.bytes() + k::LinearContext::workspace_bytes()) + activation_bytes();
  for (const DeviceUnit& u : m.units)
    total +=
        static_cast<std::int64_t>(u.master.bytes() + u.compute.bytes() + u.grads.bytes() + u.m.bytes() + u.v.bytes());
  return total;
}

void CudaModel::synchronize() { impl_->stream.synchronize(); }

Stream& CudaModel::stream() { return impl_->stream; }

static_assert(UnitModel<CudaModel>);

}  // namespace awsdt::nn
