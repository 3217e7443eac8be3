// awsdt-fsdp: Llama pre-training, FSDP-sharded over the ranks a launcher starts (one rank without one): the
// fp32 CPU engine over MPI, or the bf16 CUDA engine over NCCL (one GPU per rank); one engine, one loop. Rank 0 prints one line per logged step (HyperPod's monitor matches ".*Loss:.*") and writes
// the result document.
#include <csignal>
#include <cstdlib>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "awsdt/config.hpp"
#include "bench/cpu_share.hpp"
#include "bench/guard.hpp"
#include "bench/launch_check.hpp"
#include "bench/watchdog.hpp"
#include "checkpointing.hpp"
#include "comm/host_values.hpp"
#include "comm/registry.hpp"
#include "cpu_backend.hpp"
#include "cuda_backend.hpp"
#include "gpu_peak.hpp"
#include "fsdp_engine.hpp"
#include "slice_source.hpp"
#include "step_series.hpp"
#include "util/fs.hpp"
#include "bench/summary.hpp"
#include "nn/data.hpp"
#include "nn/model.hpp"
#include "op_breakdown.hpp"
#include "options.hpp"
#include "peak.hpp"
#include "report.hpp"
#include "run_summary.hpp"
#include "results/result.hpp"
#include "step_stats.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"

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
          {"attention", p.cuda_device < 0                                    ? "cpu"
                        : nn::runs_chunked_attention(p.attention, p.model) ? "chunked"
                                                                            : "flash"},
          {"param_dtype", p.param_bf16 ? "bf16" : "fp32"},
          {"reduce_dtype", o.reduce_dtype}};
}


// Shard and replica communicators for plan's mode (nullptr: a group of one).
struct Groups {
  std::unique_ptr<Communicator> owned_shard, owned_replicate;
  Communicator* shard = nullptr;
  Communicator* replicate = nullptr;
};

Groups make_groups(Communicator& world, const Plan& plan) {
  Groups g;
  const int n = world.size(), r = world.rank(), s = plan.shard_group;
  if (s == n) {
    g.shard = n > 1 ? &world : nullptr;
  } else if (s == 1) {
    g.replicate = n > 1 ? &world : nullptr;
  } else {
    g.owned_shard = world.split(r / s, r);
    g.owned_replicate = world.split(r % s, r);
    g.shard = g.owned_shard.get();
    g.replicate = g.owned_replicate.get();
  }
  return g;
}

// What MFU is measured against, per rank: the sgemm calibration on CPUs, the catalog's bf16 peak on GPUs.
struct ComputePeak {
  double flops = 0;  ///< per rank (0: unknown, MFU reported as 0)
  std::string line;  ///< how it was found, for the log
};

ComputePeak measure_cpu_peak(const Options& o, int threads) {
  set_blas_threads(threads);
  const SgemmPeak peak = measure_sgemm_peak(AWSDT_HAVE_BLAS ? o.calibrate_n : std::min(o.calibrate_n, 256), 0.5);
  return {peak.best_flops,
          fmt::format("sgemm peak: {:.2f} GFLOP/s (best of {} runs, n={}, {} BLAS thread(s); mean {:.2f} GFLOP/s)",
                      peak.best_flops / 1e9, peak.runs, peak.n, blas_threads(), peak.mean_flops / 1e9) +
              " | OpenBLAS kernels: " + blas_core()};
}

ComputePeak catalog_gpu_peak(const Device& gpu) {
  const std::string name = device_description(gpu);
  const std::optional<double> tflops = gpu_peak_tflops(name, embedded_instance_catalog());
  return {tflops ? *tflops * 1e12 : 0.0,
          fmt::format("device: {} | peak bf16: {}", name,
                      tflops ? fmt::format("{:.0f} TFLOP/s (instance catalog)", *tflops)
                             : "not in the instance catalog (MFU not reported)")};
}

// "Requeue me" only with a checkpoint to resume from. Without one a requeued job would start over, and on a
// time limit (Slurm's USR1 before it) start over forever: exit as the signal would have ended the process.
int preempted_exit_status(int signal, const Options& o) { return o.checkpoint_dir.empty() ? 128 + signal : kExitRequeue; }

int run(int argc, char** argv) {
  CLI::App app{"awsdt-fsdp: Llama pre-training, FSDP-sharded: the fp32 CPU engine over MPI ranks or the bf16 "
               "CUDA engine over NCCL"};
  Options o;
  add_options(app, o);
  app.set_version_flag("--version", AWSDT_VERSION);
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // step lines reach log monitors as they happen
  if (o.print_config) {
    std::fputs(describe_plan(make_plan(o, o.print_config_ranks), o).c_str(), stdout);
    return 0;
  }
  const bool on_gpu = Device::parse(resolve_device(o.device)).is_cuda();
  CommConfig cc;
  cc.backend = o.backend;
  if (on_gpu) {
    make_plan(o);  // flag errors before any communicator starts
    if (o.backend == "auto") cc.backend = "nccl";
    if (cc.backend != "nccl")
      throw UsageError("--device cuda communicates through NCCL (got --backend " + o.backend + ")");
  } else {
    cc.mpi_wait = o.mpi_wait;
  }
  auto world = make_comm_world(cc);
  Communicator& comm = world.comm();
  set_abort_target(comm);
  end_with_peers(*world.bootstrap);
  // Schedulers announce preemption and time limits with these: finish the step, checkpoint, exit kExitRequeue.
  defer_signals({SIGTERM, SIGUSR1, SIGUSR2});
  const int rank = comm.rank();
  setup_logging(rank, o.verbose);
  check_not_alone(*world.bootstrap);
  const Plan plan = make_plan(o, comm.size());
  if (on_gpu && plan.cuda_device != 0 && plan.cuda_device != comm.device().index) {
    // NCCL puts each rank on the GPU of its local rank; the model must live there too.
    throw UsageError(fmt::format("--device {}: this rank's GPU is cuda:{} (its local rank); to train on another "
                                 "GPU, select it with CUDA_VISIBLE_DEVICES and pass --device cuda",
                                 o.device, comm.device().index));
  }
  Groups groups = make_groups(comm, plan);
  const Checkpointing checkpoints(o, plan, comm);
  const std::int64_t start_step = checkpoints.start_step();

  // Open the data before the calibration so that a bad file fails fast, in one line. Every step's global batch
  // is the same sequences whatever the world size; this rank reads its slice of it.
  // A token file must also hold one micro-batch per rank (the same check, and message, as the sliced reader's).
  if (!o.data.empty())
    nn::make_file_source(o.data, plan.data_dtype, plan.model.vocab_size, plan.micro_batch, plan.seq_len, rank,
                         plan.world);
  std::unique_ptr<nn::TokenSource> sequences =
      o.data.empty() ? nn::make_synthetic_source(plan.synthetic, plan.model.vocab_size, 1, plan.seq_len, o.seed)
                     : nn::make_file_source(o.data, plan.data_dtype, plan.model.vocab_size, 1, plan.seq_len, 0, 1);
  auto data = std::make_unique<RankSliceSource>(std::move(sequences), plan.micro_batch, plan.global_batch, rank,
                                                plan.world, checkpoints.first_sequence());
  checkpoints.check_data(data->describe());
  // CPU ranks compute on their share of the CPUs they may run on, unless --threads, OMP_NUM_THREADS or
  // OPENBLAS_NUM_THREADS (torchrun sets the first) says otherwise. The share is gathered on every rank alike:
  // it is a collective.
  int threads = o.threads;
  if (!on_gpu && threads == 0) {
    const CpuShare share = cpu_share(*world.bootstrap);
    const char* env = std::getenv("OMP_NUM_THREADS") ? "OMP_NUM_THREADS"
                      : std::getenv("OPENBLAS_NUM_THREADS") ? "OPENBLAS_NUM_THREADS"
                                                            : nullptr;
    if (env) {
      spdlog::info("threads: {} from {} ({} CPU(s) in this rank's affinity mask, shared by {} rank(s) of this host)",
                   std::getenv(env), env, share.cpus, share.sharing);
    } else {
      threads = share.threads;
      spdlog::info("threads: {} per rank ({} CPU(s) in this rank's affinity mask, shared by {} rank(s) of this "
                   "host; --threads N to choose)", share.threads, share.cpus, share.sharing);
    }
  }
  const ComputePeak peak = on_gpu ? catalog_gpu_peak(comm.device()) : measure_cpu_peak(o, threads);
  if (o.calibrate_only) {
    if (rank == 0) std::printf("%s\n", peak.line.c_str());
    return 0;
  }
  if (rank == 0 && on_gpu) std::printf("%s\n", peak.line.c_str());
  spdlog::info("{}", peak.line);

  spdlog::info("data: {}", data->describe());
  const std::string description = describe_plan(plan, o);
  for (std::size_t a = 0, b; (b = description.find('\n', a)) != std::string::npos; a = b + 1)
    spdlog::info("{}", description.substr(a, b - a));

  EngineOptions eo;
  eo.mode = plan.sharding;
  eo.overlap = !o.no_overlap;
  eo.adamw = o.adamw;
  eo.schedule = plan.schedule;
  eo.grad_clip = o.grad_clip;
  eo.grad_accum = plan.grad_accum;
  eo.fail_step = (rank == o.fail_rank && o.fail_at_step > 0) ? o.fail_at_step - 1 : -1;
  eo.fail_hangs = o.fail_hangs;
  eo.init_from = o.init_from;
  eo.param_dtype = plan.param_bf16 ? DataType::bf16 : DataType::f32;
  eo.reduce_dtype = plan.reduce_bf16 ? DataType::bf16 : DataType::f32;
  FsdpEngine engine(on_gpu ? make_cuda_backend(plan.model, comm.device().index, plan.recompute, plan.attention)
                           : make_cpu_backend(plan.model, plan.recompute,
                                              o.emulate_gpu_compute ? DataType::bf16 : DataType::f32),
                    o.seed, eo, comm, groups.shard, groups.replicate);
  if (const auto& from = checkpoints.resume()) {
    engine.load_checkpoint(*from);
    if (rank == 0)
      std::printf("resumed from %s at step %lld (written by %d rank(s) in %d shard(s)); data continues at sequence "
                  "%lld\n",
                  from->path.c_str(), static_cast<long long>(start_step), from->meta.value("world_size", 0),
                  from->shards, static_cast<long long>(checkpoints.first_sequence()));
  }
  if (start_step >= o.steps) {  // e.g. --resume CKPT --export FILE: consolidate a checkpoint without training
    if (rank == 0)
      std::printf("checkpoint %s is at step %lld of --steps %d: nothing left to train\n",
                  checkpoints.resume()->path.c_str(), static_cast<long long>(start_step), o.steps);
    if (!o.export_path.empty()) {
      engine.export_safetensors(o.export_path);
      if (rank == 0) std::printf("exported %s\n", o.export_path.c_str());
    }
    return 0;
  }
  const ShardMemory mem = engine.memory();
  if (rank == 0)
    std::printf("fsdp | ranks: %d | sharding: %s | shard group: %d | overlap: %s | param/reduce dtype: %s/%s | per-rank bytes: params %lld, grads "
                "%lld, optimizer %lld, state %lld (%.2f MiB), gathered buffers %lld\n",
                plan.world, sharding_mode_name(plan.sharding), plan.shard_group, o.no_overlap ? "off" : "on",
                plan.param_bf16 ? "bf16" : "fp32", o.reduce_dtype.c_str(),
                static_cast<long long>(mem.params), static_cast<long long>(mem.grads),
                static_cast<long long>(mem.optimizer), static_cast<long long>(mem.state()), mib(mem.state()),
                static_cast<long long>(mem.gathered));

  const double flops = step_flops(plan);
  auto doc = make_result_document("fsdp", argc, argv);
  doc.world_size = plan.world;
  doc.hosts = world.bootstrap->hosts();
  doc.backend = std::string(comm.backend());
  doc.config = config_json(o, plan, data->describe());
  doc.config[on_gpu ? "gpu_peak_bf16_flops" : "sgemm_peak_flops"] = peak.flops;
  if (on_gpu) doc.config["gpu"] = device_description(comm.device());
  doc.config["memory_estimate_per_rank"] = estimate_memory(plan).to_json();

  StepSeries series;
  RunTotals totals;
  totals.peak_flops = peak.flops;
  totals.on_gpu = on_gpu;
  totals.recompute = plan.recompute;
  double& compute_only_ms = totals.compute_only_ms;
  bool finite = true;
  std::int32_t preempted_by = 0;
  Watchdog watchdog(o.step_timeout, async_error_probe(world));
  std::int64_t gpu_memory_peak = 0;
  // One rank communicates nothing: its exposed communication is zero, not noise (and costs no extra passes).
  const bool communicates = plan.world > 1;
  for (int s = static_cast<int>(start_step); s < o.steps && !preempted_by; ++s) {
    watchdog.arm(fmt::format("step {}", s + 1));
    if (o.signal_at_step == s + 1 && !o.signal_in_save) std::raise(SIGTERM);
    const FsdpStepStats fs = engine.step(*data, s);
    const StepStats& st = fs.base;
    // The engine's buffers live from the first step on, so the use after a step is its peak (torchtitan logs
    // the allocator's peak; this counts the whole device: cuBLAS workspaces and NCCL's buffers too).
    if (on_gpu) gpu_memory_peak = std::max(gpu_memory_peak, memory_use(comm.device()).used);
    // Exposed communication as the issue of record defines it: a step's forward/backward phase minus the same
    // work with communication skipped, measured after the first (warm-up) step: the median of three, as one
    // measurement can land in a slow spell of a shared machine and hide or inflate every step's figure.
    if (s == start_step && communicates) {
      std::array<double, 3> runs{};
      for (double& ms : runs) ms = engine.measure_compute_only();
      std::sort(runs.begin(), runs.end());
      compute_only_ms = runs[1];
    }
    const double exposed = communicates ? std::max(0.0, st.compute_ms - compute_only_ms) : 0.0;
    totals.bytes_all_gathered = fs.bytes_all_gathered;
    totals.bytes_reduce_scattered = fs.bytes_reduce_scattered;
    totals.bytes_all_reduced = fs.bytes_all_reduced;
    const StepRates rates = step_rates(st.step_ms, flops, plan.tokens_per_step(), peak.flops, plan.world);
    totals.final_loss = st.loss;
    finite = finite && std::isfinite(st.loss) && std::isfinite(st.grad_norm);
    series.add(s + 1, fs, rates, exposed, s > start_step || o.steps == start_step + 1);
    if (rank == 0 && (s == 0 || (s + 1) % o.log_every == 0 || s + 1 == o.steps)) {
      std::printf("%s\n", step_line(s + 1, o.steps, st, rates).c_str());
      std::printf("%s\n", comm_line(s + 1, o.steps, fs, exposed, communicates ? compute_only_ms : -1, on_gpu).c_str());
    }
    // A signal may reach only some ranks: all of them stop after the same step. One that arrives during the last
    // step stops nothing: the run is complete, and a requeue would run it again.
    const bool last = s + 1 == o.steps;
    const auto signalled = [&] { return all_reduce_value(comm, std::int32_t{deferred_signal()}, ReduceOp::max); };
    preempted_by = last ? 0 : signalled();
    if (checkpoints.due(s + 1, preempted_by != 0)) {
      watchdog.arm(fmt::format("the checkpoint save after step {}", s + 1));
      engine.set_kill_in_save(rank == o.fail_rank && o.fail_in_save == s + 1);
      const std::string path = checkpoints.save(engine, s + 1, plan.world, rank, data->describe());
      if (o.signal_at_step == s + 1 && o.signal_in_save) std::raise(SIGTERM);  // as if during the save
      if (rank == 0) std::printf("checkpoint %d/%d | saved %s\n", s + 1, o.steps, path.c_str());
      // A signal during the save: the checkpoint just written is the one to resume from; stop now rather than
      // after another step and save, which the scheduler's grace period (30 s by default) may not allow.
      if (!preempted_by && !last) preempted_by = signalled();
    }
    watchdog.disarm();
    if (preempted_by && rank == 0)
      std::printf("preempted by signal %d after step %d/%d: %s; exiting with status %d%s\n", preempted_by, s + 1,
                  o.steps, o.checkpoint_dir.empty() ? "no --checkpoint-dir, nothing saved" : "checkpoint saved",
                  preempted_exit_status(preempted_by, o),
                  o.checkpoint_dir.empty() ? " (not requeue: a rerun would start over)" : " (requeue)");
  }

  doc.rows = series.rows();
  totals.memory = mem;
  totals.activation_bytes = engine.activation_bytes();
  totals.rss = peak_rss_bytes();
  totals.max_rss = all_reduce_value(comm, totals.rss, ReduceOp::max);
  if (on_gpu) totals.gpu_memory = {all_reduce_value(comm, gpu_memory_peak, ReduceOp::max), memory_use(comm.device()).total};
  if (!o.dump_params.empty()) {
    const std::vector<float> full = engine.full_params();
    if (rank == 0)
      write_file_atomic(o.dump_params,
                        std::string(reinterpret_cast<const char*>(full.data()), full.size() * sizeof(float)));
  }
  if (!o.export_path.empty() && !preempted_by) {
    engine.export_safetensors(o.export_path);
    if (rank == 0) std::printf("exported %s\n", o.export_path.c_str());
  }
  doc.summary = summary_json(series, totals);
  if (rank == 0) std::printf("%s\n", summary_line(series, totals).c_str());

  if (o.op_breakdown && rank == 0) {
    const OpBreakdown ob = measure_op_breakdown(plan.model, plan.micro_batch, plan.seq_len);
    const double compute_ms = series.compute_ms().p50, step_ms = series.step_ms().p50;
    doc.summary["op_breakdown"] = report_op_breakdown(ob, compute_ms / plan.grad_accum, step_ms - compute_ms,
                                                      flops / (plan.grad_accum * plan.world));
  }

  doc.add_check("finite loss", finite, fmt::format("final loss {}", totals.final_loss));
  if (preempted_by) {
    doc.summary["preempted_by_signal"] = preempted_by;
    if (rank == 0 && !o.output.empty()) write_result_document(doc, o.output);
    // Every rank leaves together, after rank 0 has written everything: a launcher ends the job on the first
    // non-zero exit.
    all_reduce_value(comm, std::int32_t{1}, ReduceOp::min);
    return preempted_exit_status(preempted_by, o);
  }
  if (rank != 0) return doc.passed() ? 0 : 1;
  if (!o.output.empty()) write_result_document(doc, o.output);
  return report_checks(doc, "awsdt-fsdp");
}

}  // namespace

int main(int argc, char** argv) {
  select_blas_kernels(argv);
  return guarded_main([&] { return run(argc, argv); });
}
