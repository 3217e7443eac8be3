// The GPU training loop: micro-batches accumulate into the fp32 gradients, each weighted 1/(grad_accum · ranks);
// the ranks' gradients are summed by NCCL all-reduces on the model's stream, so every rank steps on the mean
// gradient of the global batch, as the CPU trainer does; then clipping and AdamW on the GPU.
#include "cuda_training.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "bench/guard.hpp"
#include "bench/launch_check.hpp"
#include "bench/summary.hpp"
#include "comm/registry.hpp"
#include "device/device.hpp"
#include "gpu_peak.hpp"
#include "nn/cuda_model.hpp"
#include "nn/data.hpp"
#include "nn/model.hpp"
#include "nn/safetensors.hpp"
#include "report.hpp"
#include "slice_source.hpp"
#include "results/result.hpp"
#include "util/error.hpp"

namespace awsdt::fsdp {
int run_on_cuda(const Options& o, int argc, char** argv) {
  CommConfig cc;
  cc.backend = o.backend == "auto" ? "nccl" : o.backend;
  if (cc.backend != "nccl") throw UsageError("--device cuda communicates through NCCL (got --backend " + o.backend + ")");
  auto world = make_comm_world(cc);
  Communicator& comm = world.comm();
  set_abort_target(comm);
  check_not_alone(*world.bootstrap);
  const int rank = comm.rank();
  const Plan plan = make_plan(o, comm.size());
  // NCCL puts each rank on the GPU of its local rank; the model must live there too.
  const int gpu_index = comm.device().index;
  if (plan.cuda_device != 0 && plan.cuda_device != gpu_index) {
    throw UsageError(fmt::format("--device {}: this rank's GPU is cuda:{} (its local rank); to train on another "
                                 "GPU, select it with CUDA_VISIBLE_DEVICES and pass --device cuda",
                                 o.device, gpu_index));
  }
  const Device device = Device::cuda(gpu_index);
  const std::string gpu = device_description(device);
  const std::optional<double> peak_tflops = gpu_peak_tflops(gpu, default_instance_catalog());
  if (rank == 0)
    std::printf("device: %s | ranks: %d (NCCL, replicated) | peak bf16: %s\n", gpu.c_str(), plan.world,
                peak_tflops ? fmt::format("{:.0f} TFLOP/s (instance catalog)", *peak_tflops).c_str()
                            : "not in the instance catalog (MFU reported as 0)");

  // Sequences one at a time, grouped into micro-batches, as the CPU path does: a seed gives both devices the
  // same batches, and each rank its slice of every global batch.
  std::unique_ptr<nn::TokenSource> sequences =
      o.data.empty() ? nn::make_synthetic_source(plan.synthetic, plan.model.vocab_size, 1, plan.seq_len, o.seed)
                     : nn::make_file_source(o.data, plan.data_dtype, plan.model.vocab_size, 1, plan.seq_len, 0, 1);
  auto data = std::make_unique<RankSliceSource>(std::move(sequences), plan.micro_batch, plan.global_batch, rank,
                                                plan.world, 0);
  if (rank == 0) std::printf("data: %s\n%s", data->describe().c_str(), describe_plan(plan, o).c_str());

  // The CPU model draws (or loads) the initial weights, so a seed gives the same start on every device.
  nn::Model host(plan.model, o.seed);
  if (!o.init_from.empty()) nn::load_safetensors(host, o.init_from);
  nn::CudaModel model(host, gpu_index);
  Buffer loss_sum(sizeof(double), MemoryKind::Device, device);

  const double flops = step_flops(plan);
  auto doc = make_result_document("fsdp", argc, argv);
  doc.world_size = plan.world;
  doc.hosts = world.bootstrap->hosts();
  doc.backend = std::string(comm.backend());
  doc.config = {{"model", o.model}, {"device", device.str()}, {"gpu", gpu}, {"steps", o.steps},
                {"micro_batch_size", plan.micro_batch}, {"global_batch_size", plan.global_batch},
                {"seq_len", plan.seq_len}, {"grad_accum", plan.grad_accum}, {"lr", o.lr}, {"seed", o.seed},
                {"data", data->describe()}};
  if (peak_tflops) doc.config["gpu_peak_bf16_tflops"] = *peak_tflops;

  std::vector<double> tps, tflops_v, mfu_v, step_ms;
  double final_loss = 0;
  bool finite = true;
  nn::TokenBatch batch;
  const float weight = 1.0f / static_cast<float>(plan.grad_accum * plan.world);
  for (int s = 0; s < o.steps; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    model.zero_grad();
    double loss = 0;
    for (int i = 0; i < plan.grad_accum; ++i) {
      data->next(batch);
      loss += model.forward(batch.inputs.data(), batch.targets.data(), batch.B, batch.T, weight);
      model.backward();
    }
    // Sum the ranks' gradients (each already weighted by 1/ranks) and their losses, in order on the model's
    // stream; a single rank's all-reduce is a copy, so one GPU takes the same path.
    for (const nn::CudaModel::DeviceSpan& g : model.gradients())
      comm.all_reduce(g.data, g.data, g.size, DataType::f32, ReduceOp::sum, model.stream());
    loss /= plan.grad_accum * plan.world;
    copy_async(loss_sum.data(), &loss, sizeof(loss), model.stream());
    comm.all_reduce(loss_sum.data(), loss_sum.data(), 1, DataType::f64, ReduceOp::sum, model.stream());
    copy_async(&loss, loss_sum.data(), sizeof(loss), model.stream());
    model.synchronize();  // backward and all-reduces are only enqueued: wait to split compute from optimizer time
    const double compute_ms = ms_since(t0);
    const double lr = plan.schedule.at(s);
    const double norm = model.optimizer_step(o.adamw, lr, o.grad_clip);
    model.synchronize();
    StepStats st;
    st.loss = loss;
    st.grad_norm = norm;
    st.lr = lr;
    st.compute_ms = compute_ms;
    st.step_ms = ms_since(t0);
    st.optimizer_ms = st.step_ms - compute_ms;
    const double tokens_per_s = plan.tokens_per_step() / (st.step_ms / 1e3);
    const double achieved = flops / (st.step_ms / 1e3);
    const double mfu = peak_tflops ? 100.0 * achieved / (*peak_tflops * 1e12) : 0.0;
    final_loss = loss;
    finite = finite && std::isfinite(loss) && std::isfinite(norm);
    if (s > 0 || o.steps == 1) {  // the first step pays for allocation and cuBLASLt's algorithm choice
      tps.push_back(tokens_per_s);
      tflops_v.push_back(achieved / 1e12);
      mfu_v.push_back(mfu);
      step_ms.push_back(st.step_ms);
    }
    doc.rows.push_back({{"step", s + 1}, {"loss", loss}, {"grad_norm", norm}, {"lr", lr}, {"step_ms", st.step_ms},
                        {"compute_ms", compute_ms}, {"optimizer_ms", st.optimizer_ms},
                        {"tokens_per_s", tokens_per_s}, {"tflops", achieved / 1e12}, {"mfu", mfu}});
    if (rank == 0 && (s == 0 || (s + 1) % o.log_every == 0 || s + 1 == o.steps))
      std::printf("%s\n", step_line(s + 1, o.steps, st, tokens_per_s, achieved / 1e12, mfu).c_str());
  }

  const Summary tps_s = summarize(tps), tflops_s = summarize(tflops_v), mfu_s = summarize(mfu_v);
  const std::int64_t gpu_bytes = model.device_bytes();
  doc.summary = {{"final_loss", final_loss},          {"median_tokens_per_s", tps_s.p50},
                 {"median_tflops", tflops_s.p50},     {"median_mfu", mfu_s.p50},
                 {"step_ms", summarize(step_ms)},     {"gpu_bytes", gpu_bytes}};
  if (rank == 0)
    std::printf("summary | final loss: %.6f | median tokens/s: %.1f | median TFLOP/s: %.2f | median MFU: %.2f%% | "
              "GPU memory held: %.1f MiB\n",
              final_loss, tps_s.p50, tflops_s.p50, mfu_s.p50, static_cast<double>(gpu_bytes) / (1 << 20));

  if (!o.export_path.empty() && rank == 0) {  // replicas hold identical weights
    model.download(host.units());
    nn::save_safetensors(host, o.export_path);
    std::printf("exported %s\n", o.export_path.c_str());
  }
  doc.add_check("finite loss", finite, fmt::format("final loss {}", final_loss));
  if (rank != 0) return doc.passed() ? 0 : 1;
  if (!o.output.empty()) write_result_document(doc, o.output);
  return report_checks(doc, "awsdt-fsdp");
}

}  // namespace awsdt::fsdp
