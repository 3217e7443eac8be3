// The run's summary (see run_summary.hpp).
#include "train/run_summary.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bench/peak.hpp"
#include "train/report.hpp"

namespace awsdt::train {

nlohmann::json config_json(const Options& o, const Plan& p, const std::string& data) {
  const nn::ModelConfig& c = p.model;
  return {{"model", o.model},
          {"vocab_size", c.vocab_size},
          {"dim", c.dim},
          {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},
          {"n_kv_heads", c.n_kv_heads},
          {"ffn_dim", c.ffn_dim},
          {"tied_embeddings", c.tied_embeddings},
          {"parameters", c.parameter_count()},
          {"flops_per_token", c.flops_per_token(p.seq_len)},
          {"tensor_parallel", p.tp},
          {"data_parallel", p.world},
          {"sequence_parallel", p.sequence_parallel},
          {"tp_comm_overlap", o.tp_comm_overlap && p.tp > 1 ? o.tp_comm_method : "off"},
          {"device", resolve_device(o.device)},
          {"threads", blas_threads()},
          {"blas_kernels", blas_core()},
          {"steps", o.steps},
          {"micro_batch_size", p.micro_batch},
          {"global_batch_size", p.global_batch},
          {"grad_accum", p.grad_accum},
          {"seq_len", p.seq_len},
          {"lr", p.schedule.lr},
          {"min_lr", p.schedule.min_lr},
          {"warmup_steps", p.schedule.warmup_steps},
          {"lr_schedule", nn::lr_decay_name(p.schedule.decay)},
          {"weight_decay", o.adamw.weight_decay},
          {"beta1", o.adamw.beta1},
          {"beta2", o.adamw.beta2},
          {"eps", o.adamw.eps},
          {"grad_clip", o.grad_clip},
          {"seed", o.seed},
          {"data", data},
          {"world_size", p.world},
          {"sharding", sharding_mode_name(p.sharding)},
          {"shard_group_size", p.shard_group},
          {"overlap", !o.no_overlap},
          {"recompute", p.recompute},
          // The attention kernels that ran: they change speed, memory and the last bits of the loss.
          {"attention", p.cuda_device < 0                                  ? "cpu"
                        : nn::runs_chunked_attention(p.attention, p.model) ? "chunked"
                                                                           : "flash"},
          {"param_dtype", p.param_bf16 ? "bf16" : "fp32"},
          {"reduce_dtype", o.reduce_dtype}};
}

nlohmann::json summary_json(const StepSeries& series, const RunTotals& t) {
  const Summary mfu = series.mfu();
  nlohmann::json j = {{"final_loss", t.final_loss},
                      {"median_tokens_per_s", series.tokens_per_s().p50},
                      {"median_tokens_per_s_per_device", series.tokens_per_s_per_device().p50},
                      {"median_tflops_per_device", series.tflops_per_device().p50},
                      {"median_mfu", mfu.count ? nlohmann::json(mfu.p50) : nlohmann::json()},  // null: no peak
                      {"step_ms", series.step_ms()},
                      {t.on_gpu ? "gpu_peak_bf16_tflops" : "sgemm_peak_tflops", t.peak_flops / 1e12},
                      {"peak_source", t.peak_source},
                      {"peak_rss_bytes", t.rss},
                      {"max_peak_rss_bytes", t.max_rss},
                      {"median_exposed_comm_ms", series.exposed_comm_ms().p50},
                      {"exposed_comm_valid", series.exposed_comm_ms().p50 >= 0},
                      {"median_comm_wait_ms", series.comm_wait_ms().p50},
                      {"median_comm_cpu_ms", series.comm_cpu_ms().p50},
                      {"compute_only_ms", t.compute_only_ms},
                      {"bytes_all_gathered_per_step", t.bytes_all_gathered},
                      {"bytes_reduce_scattered_per_step", t.bytes_reduce_scattered},
                      {"bytes_all_reduced_per_step", t.bytes_all_reduced},
                      {"per_rank_param_bytes", t.memory.params},
                      {"per_rank_grad_bytes", t.memory.grads},
                      {"per_rank_optimizer_bytes", t.memory.optimizer},
                      {"per_rank_state_bytes", t.memory.state()},
                      {"per_rank_gathered_buffer_bytes", t.memory.gathered},
                      {"per_rank_activation_bytes", t.activation_bytes}};
  if (t.on_gpu) {
    j["max_gpu_memory_used_bytes"] = t.gpu_memory.used;
    j["gpu_memory_bytes"] = t.gpu_memory.total;
  }
  return j;
}

std::string summary_line(const StepSeries& series, const RunTotals& t) {
  const Summary mfu = series.mfu();
  std::string line = fmt::format(
      "summary | final loss: {:.6f} | median tokens/s: {:.1f} (per device {:.1f}) | median TFLOP/s/device: {:.4f} | "
      "median MFU: {} | {} peak TFLOP/s: {:.4f} ({}) | peak host RSS: {:.1f} MiB (max over ranks {:.1f} MiB) | "
      "median exposed comm: {:.2f} ms{} | per-rank state: {:.2f} MiB | activations: {:.2f} MiB{}",
      t.final_loss, series.tokens_per_s().p50, series.tokens_per_s_per_device().p50, series.tflops_per_device().p50,
      mfu.count ? fmt::format("{:.2f}%", mfu.p50) : "n/a (peak unknown)", t.on_gpu ? "bf16" : "sgemm",
      t.peak_flops / 1e12, t.peak_source, mib(t.rss), mib(t.max_rss), series.exposed_comm_ms().p50,
      series.exposed_comm_ms().p50 < 0 ? " (invalid: negative, noise)" : "", mib(t.memory.state()),
      mib(t.activation_bytes), t.recompute ? " (recompute)" : "");
  if (t.on_gpu)
    line += fmt::format(" | GPU memory used: {:.2f} of {:.2f} GiB ({:.1f}%, max over ranks)",
                        t.gpu_memory.used / double(1 << 30), t.gpu_memory.total / double(1 << 30),
                        100.0 * t.gpu_memory.used / std::max<double>(1, t.gpu_memory.total));
  return line;
}

}  // namespace awsdt::train
