// awsdt-fsdp: Llama pre-training on the CPU fp32 engine, single process for now (sharding comes later).
// Prints one line per logged step (HyperPod's monitor matches ".*Loss:.*") and writes the result document.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "awsdt/config.hpp"
#include "bench/guard.hpp"
#include "bench/summary.hpp"
#include "nn/data.hpp"
#include "nn/model.hpp"
#include "op_breakdown.hpp"
#include "options.hpp"
#include "peak.hpp"
#include "report.hpp"
#include "results/result.hpp"
#include "trainer.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

using namespace awsdt;
using namespace awsdt::fsdp;

namespace {

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
          {"device", o.device},
          {"threads", blas_threads()},
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
          {"data", data}};
}

int run(int argc, char** argv) {
  CLI::App app{"awsdt-fsdp: Llama pre-training on the CPU fp32 engine (single process; FSDP sharding to come)"};
  Options o;
  add_options(app, o);
  app.set_version_flag("--version", AWSDT_VERSION);
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  setup_logging(0, o.verbose);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // step lines reach log monitors as they happen
  const Plan plan = make_plan(o);

  if (o.print_config) {
    std::fputs(describe_plan(plan, o).c_str(), stdout);
    return 0;
  }
  // Open the data before the calibration so that a bad file fails fast, in one line.
  std::unique_ptr<nn::TokenSource> data =
      o.data.empty() ? nn::make_synthetic_source(plan.synthetic, plan.model.vocab_size, plan.micro_batch,
                                                 plan.seq_len, o.seed)
                     : nn::make_file_source(o.data, plan.data_dtype, plan.model.vocab_size, plan.micro_batch,
                                            plan.seq_len, 0, plan.world);
  set_blas_threads(o.threads);
  const SgemmPeak peak = measure_sgemm_peak(AWSDT_HAVE_BLAS ? o.calibrate_n : std::min(o.calibrate_n, 256), 0.5);
  const std::string peak_line =
      fmt::format("sgemm peak: {:.2f} GFLOP/s (best of {} runs, n={}, {} BLAS thread(s); mean {:.2f} GFLOP/s)",
                  peak.best_flops / 1e9, peak.runs, peak.n, blas_threads(), peak.mean_flops / 1e9);
  if (o.calibrate_only) {
    std::printf("%s\n", peak_line.c_str());
    return 0;
  }
  spdlog::info("{}", peak_line);

  spdlog::info("data: {}", data->describe());
  const std::string description = describe_plan(plan, o);
  for (std::size_t a = 0, b; (b = description.find('\n', a)) != std::string::npos; a = b + 1)
    spdlog::info("{}", description.substr(a, b - a));

  nn::Model model(plan.model, o.seed);
  TrainerOptions to;
  to.adamw = o.adamw;
  to.schedule = plan.schedule;
  to.grad_clip = o.grad_clip;
  to.grad_accum = plan.grad_accum;
  Trainer trainer(model, to);

  const double flops = step_flops(plan);
  auto doc = make_result_document("fsdp", argc, argv);
  doc.world_size = plan.world;
  doc.backend = "cpu";
  doc.config = config_json(o, plan, data->describe());
  doc.config["sgemm_peak_flops"] = peak.best_flops;

  std::vector<double> tps, tflops_v, mfu_v, step_ms, compute_ms;
  double final_loss = 0;
  bool finite = true;
  for (int s = 0; s < o.steps; ++s) {
    const StepStats st = trainer.step(*data, s);
    const double tokens_per_s = plan.tokens_per_step() / (st.step_ms / 1e3);
    const double achieved = flops / (st.step_ms / 1e3);
    const double mfu = 100.0 * achieved / peak.best_flops;
    final_loss = st.loss;
    finite = finite && std::isfinite(st.loss) && std::isfinite(st.grad_norm);
    if (s > 0 || o.steps == 1) {  // the first step pays for allocation and page faults
      tps.push_back(tokens_per_s);
      tflops_v.push_back(achieved / 1e12);
      mfu_v.push_back(mfu);
      step_ms.push_back(st.step_ms);
      compute_ms.push_back(st.compute_ms);
    }
    doc.rows.push_back({{"step", s + 1},
                        {"loss", st.loss},
                        {"grad_norm", st.grad_norm},
                        {"lr", st.lr},
                        {"step_ms", st.step_ms},
                        {"compute_ms", st.compute_ms},
                        {"optimizer_ms", st.optimizer_ms},
                        {"tokens_per_s", tokens_per_s},
                        {"tflops", achieved / 1e12},
                        {"mfu", mfu}});
    if (s == 0 || (s + 1) % o.log_every == 0 || s + 1 == o.steps) {
      std::printf("%s\n", step_line(s + 1, o.steps, st, tokens_per_s, achieved / 1e12, mfu).c_str());
    }
  }

  const Summary tps_s = summarize(tps), tflops_s = summarize(tflops_v), mfu_s = summarize(mfu_v);
  const Summary step_s = summarize(step_ms), compute_s = summarize(compute_ms);
  doc.summary = {{"final_loss", final_loss},
                 {"median_tokens_per_s", tps_s.p50},
                 {"median_tflops", tflops_s.p50},
                 {"median_mfu", mfu_s.p50},
                 {"step_ms", step_s},
                 {"sgemm_peak_tflops", peak.best_flops / 1e12},
                 {"peak_rss_bytes", peak_rss_bytes()}};
  std::printf("summary | final loss: %.6f | median tokens/s: %.1f | median TFLOP/s: %.4f | median MFU: %.2f%% | "
              "sgemm peak TFLOP/s: %.4f | peak RSS: %.1f MiB\n",
              final_loss, tps_s.p50, tflops_s.p50, mfu_s.p50, peak.best_flops / 1e12,
              static_cast<double>(peak_rss_bytes()) / (1 << 20));

  if (o.op_breakdown) {
    const OpBreakdown ob = measure_op_breakdown(plan.model, plan.micro_batch, plan.seq_len);
    const double micro_ms = compute_s.p50 / plan.grad_accum;
    const double rest = micro_ms - ob.gemm_ms - ob.attention_ms - ob.other_ms;
    const double opt_ms = step_s.p50 - compute_s.p50;
    doc.summary["op_breakdown"] = {{"micro_batch_ms", micro_ms},     {"gemm_ms", ob.gemm_ms},
                                   {"attention_ms", ob.attention_ms}, {"other_ms", ob.other_ms}, {"unaccounted_ms", rest},
                                   {"optimizer_ms", opt_ms},          {"gemm_flops", ob.gemm_flops},
                                   {"attention_flops", ob.attention_flops}};
    std::printf("op breakdown (one micro-batch fwd+bwd, median %.1f ms; GEMM and attention timed alone on the same "
                "shapes):\n",
                micro_ms);
    std::printf("  gemm       %8.1f ms  %5.1f%%  %.2f GFLOP/s\n", ob.gemm_ms, 100 * ob.gemm_ms / micro_ms,
                ob.gemm_flops / ob.gemm_ms / 1e6);
    std::printf("  attention  %8.1f ms  %5.1f%%  %.2f GFLOP/s\n", ob.attention_ms, 100 * ob.attention_ms / micro_ms,
                ob.attention_flops / ob.attention_ms / 1e6);
    std::printf("  other      %8.1f ms  %5.1f%%  (RMSNorm, RoPE, SwiGLU, residuals, embedding, cross-entropy)\n",
                ob.other_ms, 100 * ob.other_ms / micro_ms);
    std::printf("  unaccounted %7.1f ms  %5.1f%%  (step minus the isolated classes: scratch zeroing, copies, noise)\n",
                rest, 100 * rest / micro_ms);
    std::printf("  optimizer  %8.1f ms  per step (clip + AdamW)\n", opt_ms);
    const double model_flops = flops / plan.grad_accum, matmul_flops = ob.gemm_flops + ob.attention_flops;
    std::printf("  matmul FLOPs per micro-batch %.4e (model count %.4e; the difference is the LM head of a tied model "
                "and the embedding): %.2f GFLOP/s executed\n",
                matmul_flops, model_flops, matmul_flops / micro_ms / 1e6);
  }

  doc.add_check("finite loss", finite, fmt::format("final loss {}", final_loss));
  if (!o.output.empty()) write_result_document(doc, o.output);
  for (const auto& c : doc.checks)
    if (!c.passed) std::fprintf(stderr, "awsdt-fsdp: check failed: %s: %s\n", c.name.c_str(), c.detail.c_str());
  return doc.passed() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] { return run(argc, argv); });
}
