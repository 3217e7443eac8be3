// CudaModel: the forward and backward of nn::Model (model.cpp) in the same order, on the CUDA layers of
// kernels/cuda. Differences from the CPU engine, all for memory or speed on GPUs: activations are bf16; the
// attention keeps only each row's log-sum-exp, not the T×T probabilities; the cross-entropy writes ∂loss/∂logits
// over the logits during the forward (llm.c's fused classifier); one residual-gradient buffer is updated in
// place through the blocks (each RMSNorm backward adds its share to it).
// On a tensor-parallel rank (CudaTensorParallel) the same code runs on the local widths, with the TP collectives
// at the seams (gather_rows, reduce_rows, the norm weights' gradients, the vocab-parallel embedding and
// cross-entropy); on one rank every seam is a no-op and the calls are the whole model's.
#include "nn/cuda_model.hpp"
#include "nn/unit_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "comm/communicator.hpp"
#include "device/device.hpp"
#include "kernels/cuda/linear.hpp"
#include "kernels/cuda/chunked_attention.hpp"
#include "kernels/cuda/llama_attention.hpp"
#include "kernels/cuda/llama_layers.hpp"
#include "kernels/cuda/tp_layers.hpp"
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

// One transformer block's saved activations (bf16 unless noted). Widths are the rank's (Q = its heads · head_dim,
// KV, F); Ns = N, or N / tp rows with sequence parallelism.
struct BlockActs {
  Buffer ln1, rstd1;   // [N,C] (gathered with SP), rstd fp32 [Ns]
  Buffer q, k, v;      // after RoPE: [N,Q], [N,KV], [N,KV]
  Buffer atty, lse;    // attention output [N,Q], log-sum-exp fp32 [B,NH,T]
  Buffer res2;         // residual after attention [Ns,C]
  Buffer ln2, rstd2;   // [N,C], fp32 [Ns]
  Buffer gate, up, h;  // [N,F]
};

BlockOffsets offsets_of(const UnitLayout& block) {
  const auto& t = block.tensors;
  return {t[0].offset, t[1].offset, t[2].offset, t[3].offset, t[4].offset,
          t[5].offset, t[6].offset, t[7].offset, t[8].offset, block.size};
}

HeadOffsets offsets_of_head(const UnitLayout& head, bool tied) {
  return {head.tensors[0].offset, tied ? 0 : head.tensors[1].offset, head.size};
}

}  // namespace

struct CudaModel::Impl {
  ModelConfig cfg;
  Device dev;
  Stream stream;
  k::LinearContext linear;
  BlockOffsets o;
  HeadOffsets ho;
  // Tensor parallelism: the group (null on one rank), sequence parallelism, and this rank's widths.
  Communicator* tp = nullptr;
  bool sp = false;
  int heads, kv_heads, F, V, v0 = 0;
  int kv_first = 0;
  bool kv_replicated = false;
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
  // Tensor parallelism's own: with SP a norm's output shard, a reduced output shard, the gathered residual
  // gradient, the reduced input gradient shard and a norm weight's partial gradient; the vocab-parallel
  // cross-entropy's per-token max and (sum, target logit).
  Buffer lns, proj_s, dfull, dln_s, ng, row_max, ce_stats;
  // Replicated key/value heads: every head's k_proj and v_proj weight gradient, fp32, this rank's share in its
  // head's place (all-reduced over the group, as the CPU model's add_kv_grads).
  Buffer kv_grads;
  AttentionKernel attention = AttentionKernel::automatic;
  bool chunked = false;  // the chunked tensor-core attention runs (else the flash-style kernels)
  std::vector<float> host_losses;

  Impl(const ModelConfig& c, int device)
      : cfg(c),
        dev(Device::cuda(device)),
        stream((dev.make_current(), dev)),
        o(block_offsets(c)),
        ho(head_offsets(c)),
        heads(c.n_heads),
        kv_heads(c.n_kv_heads),
        F(c.ffn_dim),
        V(c.vocab_size),
        weights(static_cast<std::size_t>(c.n_layers) + 2, nullptr),
        grad_ptrs(weights.size(), nullptr) {}

  int Q() const { return heads * cfg.head_dim(); }
  int KV() const { return kv_heads * cfg.head_dim(); }
  int tp_size() const { return tp ? tp->size() : 1; }
  // Rows of the residual stream here: the micro-batch's N tokens, or its shard with sequence parallelism.
  int Ns() const { return sp ? N() / tp_size() : N(); }

  // --- The TP seams (no-ops on one rank).
  // SP: out[N,C] = the all-gather of shard[Ns,C]; otherwise shard itself.
  Bf16* gather_rows(Bf16* shard, Buffer& out) {
    if (!sp) return shard;
    tp->all_gather(shard, out.data(), static_cast<std::size_t>(Ns()) * cfg.dim, DataType::bf16, stream);
    return p<Bf16>(out);
  }
  // The group's sum of partial[N,C]: SP reduce-scatters it into shard [Ns,C]; otherwise it is all-reduced in place.
  Bf16* reduce_rows(Bf16* partial, Bf16* shard) {
    if (!tp) return partial;
    if (sp) {
      tp->reduce_scatter(partial, shard, static_cast<std::size_t>(Ns()) * cfg.dim, DataType::bf16, ReduceOp::sum,
                         stream);
      return shard;
    }
    tp->all_reduce(partial, partial, static_cast<std::size_t>(N()) * cfg.dim, DataType::bf16, ReduceOp::sum, stream);
    return partial;
  }
  // Where a norm's weight gradient goes: the unit's gradient, or with SP a zeroed scratch (a partial sum over
  // this rank's rows) that add_norm_grad all-reduces and adds to it.
  float* norm_grad(int unit, std::size_t offset) {
    if (!sp) return g(unit, offset);
    memset_async(ng.data(), 0, ng.bytes(), stream);
    return p<float>(ng);
  }
  // Where k_proj's (which = 0) or v_proj's (1) weight gradient goes: the unit's gradient, or with replicated
  // key/value heads this rank's head's place in kv_grads (zeroed at which = 0), which add_kv_grads reduces.
  float* kv_grad(int unit, std::size_t offset, int which) {
    if (!kv_replicated) return g(unit, offset);
    if (which == 0) memset_async(kv_grads.data(), 0, kv_grads.bytes(), stream);
    return kv_share(which);
  }
  float* kv_share(int which) {
    const std::size_t per = static_cast<std::size_t>(cfg.head_dim()) * cfg.dim;
    return p<float>(kv_grads) + (static_cast<std::size_t>(which) * cfg.n_kv_heads + kv_first) * per;
  }
  // Each holder of a replicated head computed its query heads' share of that head's gradient: the group sums them
  // per head (every rank's share in its head's place of a zeroed buffer), and this rank adds its head's sum to its
  // k_proj and v_proj gradients.
  void add_kv_grads(int unit) {
    if (!kv_replicated) return;
    const std::size_t per = static_cast<std::size_t>(cfg.head_dim()) * cfg.dim;
    tp->all_reduce(kv_grads.data(), kv_grads.data(), kv_grads.bytes() / kF32, DataType::f32, ReduceOp::sum, stream);
    k::accumulate(g(unit, o.wk), kv_share(0), per, s());
    k::accumulate(g(unit, o.wv), kv_share(1), per, s());
  }
  void add_norm_grad(int unit, std::size_t offset) {
    if (!sp) return;
    tp->all_reduce(ng.data(), ng.data(), static_cast<std::size_t>(cfg.dim), DataType::f32, ReduceOp::sum, stream);
    k::accumulate(g(unit, offset), p<float>(ng), static_cast<std::size_t>(cfg.dim), s());
  }

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
  Bf16* resid(int layer) { return p<Bf16>(residual) + static_cast<std::size_t>(layer) * Ns() * cfg.dim; }
  int lm_unit() const { return cfg.tied_embeddings ? 0 : head_unit(); }
  std::size_t lm_offset() const { return cfg.tied_embeddings ? 0 : ho.lm_head; }

  void resize(int b, int t) {
    if (b == B && t == T) return;
    B = T = 0;  // until every buffer below exists: a failed allocation must not leave a half-sized set behind
    const std::size_t n = static_cast<std::size_t>(b) * t, C = cfg.dim, Qw = Q(), KV = this->KV(), F = this->F,
                      V = this->V, heads_rows = static_cast<std::size_t>(b) * heads * t;
    AWSDT_CHECK(!sp || n % static_cast<std::size_t>(tp_size()) == 0,
                "CudaModel: sequence parallelism needs B·T divisible by the TP size");
    const std::size_t ns = sp ? n / static_cast<std::size_t>(tp_size()) : n;
    tokens = dbuf(n * sizeof(std::int32_t));
    targets = dbuf(n * sizeof(std::int32_t));
    residual = dbuf((cfg.n_layers + 1) * ns * C * kBf16);
    lnf = dbuf(n * C * kBf16);
    rstdf = dbuf(ns * kF32);
    logits = dbuf(n * V * kBf16);
    losses = dbuf(n * kF32);
    proj = dbuf(n * C * kBf16);
    blocks.clear();
    for (int l = 0; l < (recompute ? 1 : cfg.n_layers); ++l) {
      BlockActs a;
      a.ln1 = dbuf(n * C * kBf16);
      a.rstd1 = dbuf(ns * kF32);
      a.q = dbuf(n * Qw * kBf16);
      a.k = dbuf(n * KV * kBf16);
      a.v = dbuf(n * KV * kBf16);
      a.atty = dbuf(n * Qw * kBf16);
      a.lse = dbuf(heads_rows * kF32);
      a.res2 = dbuf(ns * C * kBf16);
      a.ln2 = dbuf(n * C * kBf16);
      a.rstd2 = dbuf(ns * kF32);
      a.gate = dbuf(n * F * kBf16);
      a.up = dbuf(n * F * kBf16);
      a.h = dbuf(n * F * kBf16);
      blocks.push_back(std::move(a));
    }
    dres = dbuf(ns * C * kBf16);
    dln = dbuf(n * C * kBf16);
    dq = dbuf(n * Qw * kBf16);
    dk = dbuf(n * KV * kBf16);
    dv = dbuf(n * KV * kBf16);
    datty = dbuf(n * Qw * kBf16);
    lns = sp ? dbuf(ns * C * kBf16) : Buffer();
    proj_s = sp ? dbuf(ns * C * kBf16) : Buffer();
    dfull = sp ? dbuf(n * C * kBf16) : Buffer();
    dln_s = sp ? dbuf(ns * C * kBf16) : Buffer();
    ng = sp ? dbuf(C * kF32) : Buffer();
    const std::size_t kv_per_head = static_cast<std::size_t>(cfg.head_dim()) * C;
    kv_grads = kv_replicated ? dbuf(2 * static_cast<std::size_t>(cfg.n_kv_heads) * kv_per_head * kF32) : Buffer();
    row_max = tp ? dbuf(n * kF32) : Buffer();
    ce_stats = tp ? dbuf(2 * n * kF32) : Buffer();
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
  k::AttentionShape attention_shape_for(int b, int t) const { return {b, t, heads, kv_heads, cfg.head_dim()}; }
  bool use_chunked() const { return runs_chunked_attention(attention, cfg); }

  BlockActs& acts(int l) { return blocks[recompute ? 0 : l]; }

  void block_forward(int l) {
    block_forward_saved(l);
    // MLP output: out = res2 + down_proj(h). Its backward needs none of these values, so recomputation skips them.
    const int n = N(), C = cfg.dim, u = 1 + l;
    BlockActs& a = acts(l);
    linear.forward(p<Bf16>(proj), p<Bf16>(a.h), w(u, o.w_down), n, F, C, s());
    const Bf16* out = reduce_rows(p<Bf16>(proj), p<Bf16>(proj_s));  // row-parallel: the group's sum
    k::residual_forward(resid(l + 1), p<Bf16>(a.res2), out, static_cast<std::size_t>(Ns()) * C, s());
  }

  // Block l's forward up to what its backward reads: everything but down_proj and the last residual add.
  void block_forward_saved(int l) {
    const int n = N(), ns = Ns(), C = cfg.dim, Qw = Q(), KV = this->KV(), u = 1 + l;
    const std::size_t NC = static_cast<std::size_t>(ns) * C;
    BlockActs& a = acts(l);
    Bf16* x = resid(l);
    // Column-parallel q/k/v_proj on the norm's output (all-gathered from the shards with SP).
    k::rmsnorm_forward(sp ? p<Bf16>(lns) : p<Bf16>(a.ln1), p<float>(a.rstd1), x, w(u, o.attn_norm), ns, C,
                       float(cfg.norm_eps), s());
    gather_rows(p<Bf16>(lns), a.ln1);
    linear.forward(p<Bf16>(a.q), p<Bf16>(a.ln1), w(u, o.wq), n, C, Qw, s());
    linear.forward(p<Bf16>(a.k), p<Bf16>(a.ln1), w(u, o.wk), n, C, KV, s());
    linear.forward(p<Bf16>(a.v), p<Bf16>(a.ln1), w(u, o.wv), n, C, KV, s());
    k::rope_forward(p<Bf16>(a.q), p<float>(rope_cos), p<float>(rope_sin), B, T, heads, cfg.head_dim(), s());
    k::rope_forward(p<Bf16>(a.k), p<float>(rope_cos), p<float>(rope_sin), B, T, kv_heads, cfg.head_dim(), s());
    if (chunked)
      k::chunked_attention_forward(p<Bf16>(a.atty), p<float>(a.lse), p<Bf16>(a.q), p<Bf16>(a.k), p<Bf16>(a.v),
                                   attention_shape(), attn_work.data(), s());
    else
      k::attention_forward(p<Bf16>(a.atty), p<float>(a.lse), p<Bf16>(a.q), p<Bf16>(a.k), p<Bf16>(a.v),
                           attention_shape(), s());
    // Row-parallel o_proj: the group's sum, on this rank's rows.
    linear.forward(p<Bf16>(proj), p<Bf16>(a.atty), w(u, o.wo), n, Qw, C, s());
    k::residual_forward(p<Bf16>(a.res2), x, reduce_rows(p<Bf16>(proj), p<Bf16>(proj_s)), NC, s());
    k::rmsnorm_forward(sp ? p<Bf16>(lns) : p<Bf16>(a.ln2), p<float>(a.rstd2), p<Bf16>(a.res2), w(u, o.mlp_norm), ns, C,
                       float(cfg.norm_eps), s());
    gather_rows(p<Bf16>(lns), a.ln2);
    linear.forward(p<Bf16>(a.gate), p<Bf16>(a.ln2), w(u, o.w_gate), n, C, F, s());
    linear.forward(p<Bf16>(a.up), p<Bf16>(a.ln2), w(u, o.w_up), n, C, F, s());
    k::swiglu_forward(p<Bf16>(a.h), p<Bf16>(a.gate), p<Bf16>(a.up), static_cast<std::size_t>(n) * F, s());
  }

  // On entry dres holds ∂loss/∂(block output); on exit ∂loss/∂(block input).
  void block_backward(int l) {
    // The same kernels on the same input and weights as the forward: the rebuilt activations are the saved ones.
    if (recompute) block_forward_saved(l);
    const int n = N(), ns = Ns(), C = cfg.dim, Qw = Q(), KV = this->KV(), u = 1 + l;
    BlockActs& a = acts(l);
    // MLP: out = res2 + down(h), so ∂/∂branch = ∂/∂out = dres, and dres also flows on to res2. The row-parallel
    // down_proj's output gradient is the whole residual gradient (all-gathered with SP).
    linear.backward(p<Bf16>(dh), k::InputGrad::overwrite, g(u, o.w_down), gather_rows(p<Bf16>(dres), dfull),
                    p<Bf16>(a.h), w(u, o.w_down), n, F, C, s());
    k::swiglu_backward(p<Bf16>(dgate), p<Bf16>(dup), p<Bf16>(dh), p<Bf16>(a.gate), p<Bf16>(a.up),
                       static_cast<std::size_t>(n) * F, s());
    linear.backward(p<Bf16>(dln), k::InputGrad::overwrite, g(u, o.w_gate), p<Bf16>(dgate), p<Bf16>(a.ln2),
                    w(u, o.w_gate), n, C, F, s());
    linear.backward(p<Bf16>(dln), k::InputGrad::accumulate, g(u, o.w_up), p<Bf16>(dup), p<Bf16>(a.ln2), w(u, o.w_up), n,
                    C, F, s());
    // Column-parallel gate/up_proj's input gradient: partial over the group, reduced (onto this rank's rows).
    k::rmsnorm_backward(p<Bf16>(dres), norm_grad(u, o.mlp_norm), reduce_rows(p<Bf16>(dln), p<Bf16>(dln_s)),
                        p<Bf16>(a.res2), w(u, o.mlp_norm), p<float>(a.rstd2), ns, C, s());
    add_norm_grad(u, o.mlp_norm);
    // Attention: res2 = x + o_proj(attention), the same pattern.
    linear.backward(p<Bf16>(datty), k::InputGrad::overwrite, g(u, o.wo), gather_rows(p<Bf16>(dres), dfull),
                    p<Bf16>(a.atty), w(u, o.wo), n, Qw, C, s());
    if (chunked)
      k::chunked_attention_backward(p<Bf16>(dq), p<Bf16>(dk), p<Bf16>(dv), p<Bf16>(datty), p<Bf16>(a.atty),
                                    p<Bf16>(a.q), p<Bf16>(a.k), p<Bf16>(a.v), p<float>(a.lse), p<float>(attn_scratch),
                                    attention_shape(), attn_work.data(), s());
    else
      k::attention_backward(p<Bf16>(dq), p<Bf16>(dk), p<Bf16>(dv), p<Bf16>(datty), p<Bf16>(a.atty), p<Bf16>(a.q),
                            p<Bf16>(a.k), p<Bf16>(a.v), p<float>(a.lse), p<float>(attn_scratch), attention_shape(),
                            s());
    k::rope_backward(p<Bf16>(dq), p<float>(rope_cos), p<float>(rope_sin), B, T, heads, cfg.head_dim(), s());
    k::rope_backward(p<Bf16>(dk), p<float>(rope_cos), p<float>(rope_sin), B, T, kv_heads, cfg.head_dim(), s());
    linear.backward(p<Bf16>(dln), k::InputGrad::overwrite, g(u, o.wq), p<Bf16>(dq), p<Bf16>(a.ln1), w(u, o.wq), n, C,
                    Qw, s());
    linear.backward(p<Bf16>(dln), k::InputGrad::accumulate, kv_grad(u, o.wk, 0), p<Bf16>(dk), p<Bf16>(a.ln1),
                    w(u, o.wk), n, C, KV, s());
    linear.backward(p<Bf16>(dln), k::InputGrad::accumulate, kv_grad(u, o.wv, 1), p<Bf16>(dv), p<Bf16>(a.ln1),
                    w(u, o.wv), n, C, KV, s());
    add_kv_grads(u);
    k::rmsnorm_backward(p<Bf16>(dres), norm_grad(u, o.attn_norm), reduce_rows(p<Bf16>(dln), p<Bf16>(dln_s)), resid(l),
                        w(u, o.attn_norm), p<float>(a.rstd1), ns, C, s());
    add_norm_grad(u, o.attn_norm);
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

CudaModel::CudaModel(const ModelConfig& config, int device, const CudaTensorParallel& tp) : CudaModel(config, device) {
  Impl& m = *impl_;
  AWSDT_CHECK(tp.group != nullptr && tp.layouts.size() == m.weights.size(),
              "CudaModel: a tensor-parallel split needs its group and a layout per unit");
  if (tp.group->size() == 1) return;  // one rank holds the whole model: nothing to split
  AWSDT_CHECK(tp.heads * tp.group->size() == config.n_heads && tp.ffn * tp.group->size() == config.ffn_dim &&
                  tp.vocab * tp.group->size() == config.vocab_size,
              "CudaModel: the split's heads, MLP width or vocabulary do not make up the model");
  AWSDT_CHECK(tp.kv_replicated ? tp.kv_heads == 1 : tp.kv_heads * tp.group->size() == config.n_kv_heads,
              "CudaModel: the split's key/value heads do not make up the model");
  m.tp = tp.group;
  m.sp = tp.sequence_parallel;
  m.heads = tp.heads;
  m.kv_heads = tp.kv_heads;
  m.kv_first = tp.kv_first;
  m.kv_replicated = tp.kv_replicated;
  m.F = tp.ffn;
  m.V = tp.vocab;
  m.v0 = tp.vocab_first;
  m.o = offsets_of(tp.layouts[1]);
  m.ho = offsets_of_head(tp.layouts.back(), config.tied_embeddings);
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
  if (!m.tp) {
    k::embedding_forward(m.resid(0), m.p<std::int32_t>(m.tokens), m.w(0, 0), m.N(), m.cfg.dim, m.s());
    return;
  }
  // Vocab-parallel: rows outside this rank's vocabulary are zero, so the group's sum is the lookup (onto this
  // rank's rows with SP).
  k::vocab_embedding_forward(m.p<Bf16>(m.proj), m.p<std::int32_t>(m.tokens), m.w(0, 0), m.N(), m.cfg.dim, m.v0, m.V,
                             m.s());
  if (m.sp)
    m.reduce_rows(m.p<Bf16>(m.proj), m.resid(0));
  else
    m.tp->all_reduce(m.proj.data(), m.resid(0), static_cast<std::size_t>(m.N()) * m.cfg.dim, DataType::bf16,
                     ReduceOp::sum, m.stream);
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
  // The final norm on this rank's rows, all-gathered with SP; the LM head column-parallel over the vocabulary.
  k::rmsnorm_forward(m.sp ? m.p<Bf16>(m.lns) : m.p<Bf16>(m.lnf), m.p<float>(m.rstdf), m.resid(c.n_layers),
                     m.w(m.head_unit(), m.ho.final_norm), m.Ns(), c.dim, float(c.norm_eps), m.s());
  m.gather_rows(m.p<Bf16>(m.lns), m.lnf);
  m.linear.forward(m.p<Bf16>(m.logits), m.p<Bf16>(m.lnf), m.w(m.lm_unit(), m.lm_offset()), n, c.dim, m.V, m.s());
  if (!m.have_targets) {
    m.stream.synchronize();
    return 0.0f;
  }
  if (!m.tp) {
    k::cross_entropy_fused(m.p<Bf16>(m.logits), m.p<float>(m.losses), m.p<Bf16>(m.logits), m.p<std::int32_t>(m.targets),
                           n, c.vocab_size, m.dloss_scale, m.s());
  } else {
    // Vocab-parallel cross-entropy: the group's max per token, then its sum of exp(z − max) and the target's
    // logit (one holder, zero elsewhere); every rank then has each token's loss and writes its logits' gradient.
    k::vocab_ce_row_max(m.p<float>(m.row_max), m.p<Bf16>(m.logits), n, m.V, m.s());
    m.tp->all_reduce(m.row_max.data(), m.row_max.data(), static_cast<std::size_t>(n), DataType::f32, ReduceOp::max,
                     m.stream);
    k::vocab_ce_stats(m.p<float>(m.ce_stats), m.p<Bf16>(m.logits), m.p<std::int32_t>(m.targets), m.p<float>(m.row_max),
                      n, m.V, m.v0, m.s());
    m.tp->all_reduce(m.ce_stats.data(), m.ce_stats.data(), 2 * static_cast<std::size_t>(n), DataType::f32,
                     ReduceOp::sum, m.stream);
    k::vocab_ce_finish(m.p<Bf16>(m.logits), m.p<float>(m.losses), m.p<Bf16>(m.logits), m.p<std::int32_t>(m.targets),
                       m.p<float>(m.row_max), m.p<float>(m.ce_stats), n, m.V, m.v0, m.dloss_scale, m.s());
  }
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
                    m.p<Bf16>(m.lnf), m.w(m.lm_unit(), m.lm_offset()), n, c.dim, m.V, m.s());
  memset_async(m.dres.data(), 0, m.dres.bytes(), m.stream);
  k::rmsnorm_backward(m.p<Bf16>(m.dres), m.norm_grad(m.head_unit(), m.ho.final_norm),
                      m.reduce_rows(m.p<Bf16>(m.dln), m.p<Bf16>(m.dln_s)), m.resid(c.n_layers),
                      m.w(m.head_unit(), m.ho.final_norm), m.p<float>(m.rstdf), m.Ns(), c.dim, m.s());
  m.add_norm_grad(m.head_unit(), m.ho.final_norm);
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
  if (!m.tp) {
    k::embedding_backward(m.g(0, 0), m.p<std::int32_t>(m.tokens), m.p<Bf16>(m.dres), m.N(), m.cfg.dim, m.s());
    return;
  }
  k::vocab_embedding_backward(m.g(0, 0), m.p<std::int32_t>(m.tokens), m.gather_rows(m.p<Bf16>(m.dres), m.dfull), m.N(),
                              m.cfg.dim, m.v0, m.V, m.s());
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
  for (const Buffer* b :
       {&m.tokens,   &m.targets,  &m.residual, &m.lnf,          &m.rstdf,     &m.logits, &m.losses, &m.proj,
        &m.rope_cos, &m.rope_sin, &m.dres,     &m.dln,          &m.dq,        &m.dk,     &m.dv,     &m.datty,
        &m.dgate,    &m.dup,      &m.dh,       &m.attn_scratch, &m.attn_work, &m.lns,    &m.proj_s, &m.dfull,
        &m.dln_s,    &m.ng,       &m.row_max,  &m.ce_stats,     &m.kv_grads})
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
