// Memory estimate, run description and step line of awsdt-fsdp.
#include "train/report.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include <fmt/format.h>

#include "kernels/cuda/chunked_attention.hpp"
#include "nn/model.hpp"
#include "train/sharding.hpp"
#include "train/tp_layout.hpp"

namespace awsdt::train {
namespace {

// Python's '{:.6E}'.
std::string sci(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6E", x);
  return buf;
}

}  // namespace

namespace {

bool chunked_attention(const Plan& plan) { return nn::runs_chunked_attention(plan.attention, plan.model); }

std::string gib(std::int64_t bytes) { return fmt::format("{:.3f} GiB", static_cast<double>(bytes) / (1 << 30)); }

}  // namespace

nlohmann::json MemoryEstimate::to_json() const {
  return {{"params", params},           {"grads", grads},     {"optimizer", optimizer}, {"gathered", gathered},
          {"activations", activations}, {"scratch", scratch}, {"total", total()}};
}

MemoryEstimate estimate_memory(const Plan& plan) {
  const nn::ModelConfig& c = plan.model;
  // Widths on one tensor-parallel rank (the whole model's at TP 1): Q query and KV key/value columns, F, V and NH
  // split; Ns residual-stream rows (the sequence shard with SP).
  const TpSlice slice = tp_slice(c, plan.tp, 0);
  const std::int64_t B = plan.micro_batch, T = plan.seq_len, N = B * T, C = c.dim, Q = slice.heads * c.head_dim(),
                     KV = slice.kv_heads * c.head_dim(), F = slice.ffn, V = slice.vocab, L = c.n_layers,
                     NH = slice.heads, Ns = plan.sequence_parallel ? N / plan.tp : N;
  const bool gpu = plan.cuda_device >= 0;
  MemoryEstimate m;

  // State and slots, by FsdpEngine's rules: each unit's fp32 shard of its padded size; parameters computed on
  // gathered copies when sharded or not fp32, in slots that alternate between consecutive units (grad_op: one
  // per unit), the tied embedding in a third; gradients reduced from slots unless one replica adds in place.
  const std::vector<nn::UnitLayout> layouts = tp_unit_layouts(c, slice);
  const bool sharded = plan.shard_group > 1, keep_all = plan.sharding == ShardingMode::grad_op;
  const int replicas = plan.world / plan.shard_group;
  const std::int64_t compute_bytes = gpu ? 2 : 4, param_bytes = plan.param_bf16 ? 2 : 4;
  const bool gathers = sharded || plan.param_bf16 || gpu;
  const bool param_wire = param_bytes != compute_bytes && (sharded || plan.param_bf16);
  const bool grads_in_place = !sharded && replicas == 1 && !plan.reduce_bf16;
  std::array<std::int64_t, 3> alternating{};  // the largest padded unit of each of the three slots
  std::int64_t every_unit = 0;
  for (std::size_t u = 0; u < layouts.size(); ++u) {
    const UnitShardLayout x = shard_unit(layouts[u].size, plan.shard_group, 0);
    const auto shard = static_cast<std::int64_t>(x.shard), padded = static_cast<std::int64_t>(x.padded);
    m.params += 4 * shard;
    m.grads += 4 * shard;
    m.optimizer += 8 * shard;
    std::int64_t& slot = alternating[c.tied_embeddings && u == 0 ? 2 : u % 2];
    slot = std::max(slot, padded);
    every_unit += padded;
  }
  const std::int64_t slot_elems = alternating[0] + alternating[1] + alternating[2];
  if (gathers) m.gathered += (keep_all ? every_unit : slot_elems) * (compute_bytes + (param_wire ? param_bytes : 0));
  if (!grads_in_place) m.gathered += slot_elems * (4 + (plan.reduce_bf16 ? 2 : 0));

  const std::int64_t kept_layers = plan.recompute ? 1 : L;  // recomputation keeps one block's intermediates
  const std::int64_t rope = T * c.head_dim();               // cos and sin, half a head each
  if (gpu) {  // nn/cuda_model.cpp: bf16 activations, a log-sum-exp row per head instead of T x T scores
    const std::int64_t lse = 4 * B * NH * T;
    const std::int64_t per_layer = 2 * (2 * N * C + 2 * N * Q + Ns * C + 2 * N * KV + 3 * N * F) + 2 * 4 * N + lse;
    m.activations = kept_layers * per_layer + 2 * ((L + 1) * Ns * C + 2 * N * C + N * V) + 4 * 2 * N + 8 * N + 4 * rope;
    m.scratch = 2 * (2 * N * C + 2 * N * Q + 2 * N * KV + 3 * N * F) + lse;
    if (chunked_attention(plan))  // its workspace: pointers, a chunk's scores and probabilities, dK and dV in fp32
      m.scratch += std::int64_t(
          kernels::cuda::chunked_attention_layout({int(B), int(T), int(NH), slice.kv_heads, c.head_dim()}).bytes);
  } else {  // nn/activations.cpp's fp32 buffers
    const std::int64_t per_layer = 2 * N * C + 2 * N * Q + Ns * C + 2 * N + 2 * N * KV + B * NH * T * T + 3 * N * F;
    m.activations = 4 * (kept_layers * per_layer + (L + 1) * Ns * C + 2 * N * C + N + 2 * N * V + rope) + 8 * N;
    m.scratch = 4 * (2 * N * C + 2 * N * Q + 2 * N * KV + 3 * N * F + N * V);  // nn::GradScratch
  }
  return m;
}

double step_flops(const Plan& plan) {
  return plan.model.flops_per_token(plan.seq_len) * static_cast<double>(plan.tokens_per_step());
}

std::string describe_plan(const Plan& plan, const Options& o) {
  const nn::ModelConfig& c = plan.model;
  const MemoryEstimate m = estimate_memory(plan);
  std::string s;
  s += fmt::format("model            {} (vocab {}, dim {}, layers {}, heads {}, kv heads {}, ffn {}, max seq {}, {})\n",
                   o.model, c.vocab_size, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.ffn_dim, c.max_seq_len,
                   c.tied_embeddings ? "tied embeddings" : "untied LM head");
  s += fmt::format("rope             theta {:g}{}\n", c.rope_theta,
                   c.rope_scaled() ? fmt::format(", Llama-3 scaling: factor {:g}, low/high freq factors {:g}/{:g}, "
                                                 "original context {}",
                                                 c.rope_scaling_factor, c.rope_low_freq_factor, c.rope_high_freq_factor,
                                                 c.rope_original_max_seq_len)
                                   : std::string(" (no scaling)"));
  s += fmt::format("parameters       {} ({} non-embedding)\n", c.parameter_count(), c.non_embedding_parameter_count());
  s += fmt::format("FLOPs/token      {:.4e} (6·N + 12·L·dim·T, T = {}, N = {}: {})\n", c.flops_per_token(plan.seq_len),
                   plan.seq_len, c.matmul_parameter_count(),
                   c.tied_embeddings ? "every parameter; the tied table is the LM head" : "non-embedding");
  s += fmt::format("device           {} | sharding {}\n",
                   plan.cuda_device >= 0
                       ? fmt::format("cuda:{} (bf16 engine, fp32 master weights, {} attention)", plan.cuda_device,
                                     chunked_attention(plan) ? "chunked tensor-core" : "flash-style")
                       : std::string("cpu (fp32 engine)"),
                   sharding_mode_name(plan.sharding));
  s += fmt::format("batch            micro {} x accum {} x ranks {} = global {} sequences = {} tokens/step\n",
                   plan.micro_batch, plan.grad_accum, plan.world, plan.global_batch, plan.tokens_per_step());
  s += fmt::format("schedule         lr {:g} -> {:g} ({}, {} warm-up steps of {})\n", plan.schedule.lr,
                   plan.schedule.min_lr, nn::lr_decay_name(plan.schedule.decay), plan.schedule.warmup_steps,
                   plan.schedule.total_steps);
  s += fmt::format(
      "optimizer        AdamW betas ({:g}, {:g}) eps {:g} weight decay {:g} (matrices only), grad clip {:g}\n",
      o.adamw.beta1, o.adamw.beta2, o.adamw.eps, o.adamw.weight_decay, o.grad_clip);
  s += fmt::format(
      "memory estimate  {} per rank = params {} + grads {} + AdamW {} ({}) + gathered {} + activations "
      "{} + scratch {}\n",
      gib(m.total()), gib(m.params), gib(m.grads), gib(m.optimizer),
      plan.shard_group > 1 ? fmt::format("1/{} shards", plan.shard_group) : std::string("unsharded"), gib(m.gathered),
      gib(m.activations), gib(m.scratch));
  if (plan.recompute)
    s += "                 (activations with recomputation: one block's intermediates + every block's input)\n";
  return s;
}

std::string step_line(int step, int steps, const StepStats& s, const StepRates& r) {
  return fmt::format(
      "step {}/{} | Loss: {:.6f} | grad norm: {:.4f} | lr: {:.4e} | step time: {:.1f} ms | tokens/s: {:.1f} | "
      "tokens/s/device: {:.1f} | TFLOP/s/device: {:.4f} | MFU: {}",
      step, steps, s.loss, s.grad_norm, s.lr, s.step_ms, r.tokens_per_s, r.tokens_per_s_per_device, r.tflops_per_device,
      r.has_mfu() ? fmt::format("{:.2f}%", r.mfu_percent) : std::string("n/a (peak unknown)"));
}

std::string comm_line(int step, int steps, const FsdpStepStats& fs, double exposed_ms, double compute_only_ms,
                      bool on_gpu) {
  const std::string how = compute_only_ms >= 0 ? fmt::format("fwd+bwd {:.2f} ms - compute-only {:.2f} ms",
                                                             fs.base.compute_ms, compute_only_ms)
                                               : "one data-parallel rank: nothing to communicate";
  const std::string cpu = on_gpu ? "" : fmt::format(" | comm thread CPU: {:.2f} ms", fs.comm_cpu_ms);
  // A negative difference is noise (the step beat the same work without communication): printed, marked invalid.
  const std::string invalid = exposed_ms < 0 ? ", invalid: negative" : "";
  return fmt::format(
      "comm {}/{} | exposed comm: {:.2f} ms ({}{}) | waits: {:.2f} ms{} | all-gathered: {:.2f} MiB | "
      "reduce-scattered: {:.2f} MiB | all-reduced: {:.2f} MiB",
      step, steps, exposed_ms, how, invalid, fs.comm_wait_ms, cpu, mib(fs.bytes_all_gathered),
      mib(fs.bytes_reduce_scattered), mib(fs.bytes_all_reduced));
}

std::int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::int64_t>(u.ru_maxrss) * 1024;
}

std::string megatron_iteration_line(int iteration, int iterations, std::int64_t consumed_samples, const StepStats& s,
                                    const StepRates& rates, int global_batch) {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  const bool nan = !std::isfinite(s.loss) || !std::isfinite(s.grad_norm);
  // Python's {:.6E} and C's %.6E print alike (3.000000E-04).
  return fmt::format(
      " [{}] iteration {:8d}/{:8d} | consumed samples: {:12d} | elapsed time per iteration (ms): {:.1f} | "
      "throughput per GPU (TFLOP/s/GPU): {:.1f} | learning rate: {} | global batch size: {:5d} | lm loss: {} | "
      "grad norm: {:.3f} | number of skipped iterations: {:3d} | number of nan iterations: {:3d} |",
      when, iteration, iterations, consumed_samples, s.step_ms, rates.tflops_per_device, sci(s.lr), global_batch,
      sci(s.loss), s.grad_norm, 0, nan ? 1 : 0);
}

std::string tp_comm_line(int step, int steps, double tp_comm_ms, int tp, const std::string& mode,
                         std::int64_t rss_bytes) {
  return fmt::format("tp comm {}/{} | exposed TP comm: {:.2f} ms ({} TP rank(s), {}) | peak RSS: {:.1f} MiB (rank 0)",
                     step, steps, tp_comm_ms, tp, mode, mib(rss_bytes));
}

}  // namespace awsdt::train
