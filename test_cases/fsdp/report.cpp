// Memory estimate, run description and step line of awsdt-fsdp.
#include "report.hpp"

#include <sys/resource.h>

#include <fmt/format.h>

namespace awsdt::fsdp {
namespace {

std::string gib(std::int64_t bytes) { return fmt::format("{:.3f} GiB", static_cast<double>(bytes) / (1 << 30)); }

}  // namespace

MemoryEstimate estimate_memory(const Plan& plan) {
  const nn::ModelConfig& c = plan.model;
  const std::int64_t B = plan.micro_batch, T = plan.seq_len, N = B * T, C = c.dim, KV = c.kv_dim(), F = c.ffn_dim,
                     V = c.vocab_size, L = c.n_layers, NH = c.n_heads;
  MemoryEstimate m;
  const std::int64_t P = c.parameter_count();
  m.params = 4 * P;
  m.grads = 4 * P;
  m.optimizer = 8 * P;
  const std::int64_t per_layer = 5 * N * C + 2 * N + 2 * N * KV + B * NH * T * T + 3 * N * F;
  const std::int64_t rope = T * c.head_dim();  // cos and sin, half a head each
  const std::int64_t kept_layers = plan.recompute ? 1 : L;  // recomputation keeps one block's intermediates
  m.activations = 4 * (kept_layers * per_layer + (L + 1) * N * C + 2 * N * C + N + 2 * N * V + rope) + 8 * N;
  m.scratch = 4 * (4 * N * C + 2 * N * KV + 3 * N * F + N * V);  // nn::GradScratch
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
                                                 c.rope_scaling_factor, c.rope_low_freq_factor,
                                                 c.rope_high_freq_factor, c.rope_original_max_seq_len)
                                   : std::string(" (no scaling)"));
  s += fmt::format("parameters       {} ({} non-embedding)\n", c.parameter_count(), c.non_embedding_parameter_count());
  s += fmt::format("FLOPs/token      {:.4e} (6·N + 12·L·dim·T, T = {}, N = {}: {})\n",
                   c.flops_per_token(plan.seq_len), plan.seq_len, c.matmul_parameter_count(),
                   c.tied_embeddings ? "every parameter; the tied table is the LM head" : "non-embedding");
  s += fmt::format("device           {} | sharding {}\n",
                   plan.cuda_device >= 0 ? fmt::format("cuda:{} (bf16 engine, fp32 master weights)", plan.cuda_device)
                                         : std::string("cpu (fp32 engine)"),
                   sharding_mode_name(plan.sharding));
  s += fmt::format("batch            micro {} x accum {} x ranks {} = global {} sequences = {} tokens/step\n",
                   plan.micro_batch, plan.grad_accum, plan.world, plan.global_batch, plan.tokens_per_step());
  s += fmt::format("schedule         lr {:g} -> {:g} ({}, {} warm-up steps of {})\n", plan.schedule.lr,
                   plan.schedule.min_lr, nn::lr_decay_name(plan.schedule.decay), plan.schedule.warmup_steps,
                   plan.schedule.total_steps);
  s += fmt::format("optimizer        AdamW betas ({:g}, {:g}) eps {:g} weight decay {:g} (matrices only), grad clip {:g}\n",
                   o.adamw.beta1, o.adamw.beta2, o.adamw.eps, o.adamw.weight_decay, o.grad_clip);
  s += fmt::format("memory estimate  {} = params {} + grads {} + AdamW {} + activations {} + scratch {}\n",
                   gib(m.total()), gib(m.params), gib(m.grads), gib(m.optimizer), gib(m.activations), gib(m.scratch));
  if (plan.recompute) s += "                 (activations with recomputation: one block's intermediates + every block's input)\n";
  return s;
}

std::string step_line(int step, int steps, const StepStats& s, double tokens_per_s, double tflops, double mfu) {
  return fmt::format(
      "step {}/{} | Loss: {:.6f} | grad norm: {:.4f} | lr: {:.4e} | step time: {:.1f} ms | tokens/s: {:.1f} | "
      "TFLOP/s: {:.4f} | MFU: {:.2f}%",
      step, steps, s.loss, s.grad_norm, s.lr, s.step_ms, tokens_per_s, tflops, mfu);
}

std::int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::int64_t>(u.ru_maxrss) * 1024;
}

}  // namespace awsdt::fsdp
