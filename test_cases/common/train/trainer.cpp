// Trainer (see trainer.hpp). Rank 0 prints one line per logged step (HyperPod's monitor matches ".*Loss:.*")
// and writes the result document.
#include "train/trainer.hpp"

#include <csignal>
#include <cstdlib>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "awsdt/config.hpp"
#include "bench/cpu_share.hpp"
#include "bench/guard.hpp"
#include "bench/launch_check.hpp"
#include "bench/options.hpp"
#include "comm/host_values.hpp"
#include "train/cpu_backend.hpp"
#include "train/cuda_backend.hpp"
#include "nn/data.hpp"
#include "train/op_breakdown.hpp"
#include "train/report.hpp"
#include "train/tp_backend.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"

namespace awsdt::train {

Trainer::Trainer(const Options& options, int argc, char** argv, TrainerKind kind)
    : o_(options), argc_(argc), argv_(argv), kind_(kind) {
  start_communication();
  checkpoints_.emplace(o_, plan_, *comm_);
  start_step_ = checkpoints_->start_step();
  open_data();
  const int threads = on_gpu_ ? o_.threads : cpu_threads_for_rank(o_.threads, *world_.bootstrap);
  peak_ = on_gpu_ ? gpu_compute_peak(comm_->device()) : cpu_compute_peak(o_.calibrate_n, threads);
}

Trainer::~Trainer() = default;

void Trainer::start_communication() {
  on_gpu_ = for_flag("--device", [&] { return Device::parse(resolve_device(o_.device)); }).is_cuda();
  CommConfig cc;
  cc.backend = o_.backend;
  if (on_gpu_) {
    make_plan(o_);  // flag errors before any communicator starts
    if (o_.backend == "auto") cc.backend = "nccl";
    if (cc.backend != "nccl")
      throw UsageError("--device cuda communicates through NCCL (got --backend " + o_.backend + ")");
  } else {
    cc.mpi_wait = o_.mpi_wait;
  }
  world_ = make_comm_world(cc);
  comm_ = &world_.comm();
  set_abort_target(*comm_);
  end_with_peers(*world_.bootstrap);
  // Schedulers announce preemption and time limits with these: finish the step, checkpoint, exit kExitRequeue.
  defer_signals({SIGTERM, SIGUSR1, SIGUSR2});
  rank_ = comm_->rank();
  metrics_ = MetricsFile(o_.metrics_file, name(), rank_);
  setup_logging(rank_, o_.verbose);
  check_not_alone(*world_.bootstrap);
  plan_ = make_plan(o_, comm_->size());
  // Files rank 0 writes after training: a path that cannot take them is refused now, not after the run. Not in
  // make_plan: `awsdt run` checks the flags (--check-args) before the job directory they name exists.
  if (rank_ == 0)
    for (const auto& [path, flag] :
         {std::pair{o_.output, "--output"}, {o_.export_path, "--export"}, {o_.dump_params, "--dump-params"}})
      if (!path.empty()) check_writable_file(path, flag);
  if (on_gpu_ && plan_.cuda_device != 0 && plan_.cuda_device != comm_->device().index) {
    // NCCL puts each rank on the GPU of its local rank; the model must live there too.
    throw UsageError(
        fmt::format("--device {}: this rank's GPU is cuda:{} (its local rank); to train on another "
                    "GPU, select it with CUDA_VISIBLE_DEVICES and pass --device cuda",
                    o_.device, comm_->device().index));
  }
  Communicator* data_parallel = comm_;
  if (kind_ == TrainerKind::megatron) {
    // Megatron's order: consecutive ranks form a tensor-parallel group (one node's GPUs), data-parallel groups
    // take one rank of each.
    const int r = comm_->rank(), tp = plan_.tp;
    tp_ = comm_->split(r / tp, r);
    dp_ = comm_->split(r % tp, r);
    data_parallel = dp_.get();
  }
  dp_rank_ = data_parallel->rank();
  groups_ = make_shard_groups(*data_parallel, plan_.shard_group);
}

// Opens the data before the calibration so that a bad file fails fast, in one line. Every step's global batch
// is the same sequences whatever the world size; this rank reads its slice of it.
void Trainer::open_data() {
  // A token file must also hold one micro-batch per rank (the same check, and message, as the sliced reader's).
  if (!o_.data.empty())
    nn::make_file_source(o_.data, plan_.data_dtype, plan_.model.vocab_size, plan_.micro_batch, plan_.seq_len, dp_rank_,
                         plan_.world);
  std::unique_ptr<nn::TokenSource> sequences =
      o_.data.empty() ? nn::make_synthetic_source(plan_.synthetic, plan_.model.vocab_size, 1, plan_.seq_len, o_.seed)
                      : nn::make_file_source(o_.data, plan_.data_dtype, plan_.model.vocab_size, 1, plan_.seq_len, 0, 1);
  data_ = std::make_unique<RankSliceSource>(std::move(sequences), plan_.micro_batch, plan_.global_batch, dp_rank_,
                                            plan_.world, checkpoints_->first_sequence());
  checkpoints_->check_data(data_->describe());
}

int Trainer::run() {
  if (o_.calibrate_only) {
    if (rank_ == 0) std::printf("%s\n", peak_.line.c_str());
    return 0;
  }
  if (rank_ == 0 && on_gpu_) std::printf("%s\n", peak_.line.c_str());
  spdlog::info("{}", peak_.line);
  spdlog::info("data: {}", data_->describe());
  const std::string description = describe_plan(plan_, o_);
  for (std::size_t a = 0, b; (b = description.find('\n', a)) != std::string::npos; a = b + 1)
    spdlog::info("{}", description.substr(a, b - a));

  build_engine();
  if (!resume()) return 0;
  start_result_document();
  watchdog_ = std::make_unique<Watchdog>(o_.step_timeout, async_error_probe(world_));
  for (int s = static_cast<int>(start_step_); s < o_.steps && !preempted_by_; ++s) {
    watchdog_->arm(fmt::format("step {}", s + 1));
    if (o_.faults.signals_before_step(s + 1)) std::raise(SIGTERM);
    step(s);
    checkpoint_if_due(s);
    watchdog_->disarm();
  }
  return finish();
}

void Trainer::build_engine() {
  EngineOptions eo;
  eo.mode = plan_.sharding;
  eo.overlap = !o_.no_overlap;
  eo.adamw = o_.adamw;
  eo.schedule = plan_.schedule;
  eo.grad_clip = o_.grad_clip;
  eo.grad_accum = plan_.grad_accum;
  eo.fail_step = o_.faults.engine_fail_step(rank_);
  eo.fail_hangs = o_.faults.fail_hangs;
  eo.init_from = o_.init_from;
  eo.param_dtype = plan_.param_bf16 ? DataType::bf16 : DataType::f32;
  eo.reduce_dtype = plan_.reduce_bf16 ? DataType::bf16 : DataType::f32;
  eo.producer = std::string("awsdt-") + name();
  std::unique_ptr<UnitBackend> backend;
  if (kind_ == TrainerKind::megatron && !on_gpu_) {
    const TpCommOverlap overlap{o_.tp_comm_overlap, parallel::parse_method(o_.tp_comm_method), o_.tp_comm_chunks};
    backend = make_tp_backend(plan_.model, *tp_, plan_.sequence_parallel, plan_.recompute, overlap);
  } else if (kind_ == TrainerKind::megatron) {
    if constexpr (AWSDT_HAVE_CUDA)
      backend = make_cuda_tp_backend(plan_.model, *tp_, plan_.sequence_parallel, comm_->device().index, plan_.recompute,
                                     plan_.attention);
    else
      throw UsageError("this build of awsdt has no CUDA support (configured without CUDA): use --device cpu");
  } else if (!on_gpu_) {
    backend =
        make_cpu_backend(plan_.model, plan_.recompute, o_.faults.emulate_gpu_compute ? DataType::bf16 : DataType::f32);
  } else if constexpr (AWSDT_HAVE_CUDA) {
    backend = make_cuda_backend(plan_.model, comm_->device().index, plan_.recompute, plan_.attention);
  } else {
    throw UsageError("this build of awsdt has no CUDA support (configured without CUDA): use --device cpu");
  }
  engine_ = std::make_unique<FsdpEngine>(std::move(backend), o_.seed, eo, *comm_, groups_.shard, groups_.replicate);
}

// Loads the checkpoint to resume from, if any. False when it already holds every step: then the run only
// exports it (e.g. --resume CKPT --export FILE consolidates a checkpoint without training).
bool Trainer::resume() {
  if (const auto& from = checkpoints_->resume()) {
    engine_->load_checkpoint(*from);
    if (rank_ == 0)
      std::printf(
          "resumed from %s at step %lld (written by %d rank(s) in %d shard(s)); data continues at sequence "
          "%lld\n",
          from->path.c_str(), static_cast<long long>(start_step_), from->meta.value("world_size", 0), from->shards,
          static_cast<long long>(checkpoints_->first_sequence()));
  }
  if (start_step_ < o_.steps) return true;
  if (rank_ == 0)
    std::printf("checkpoint %s is at step %lld of --steps %d: nothing left to train\n",
                checkpoints_->resume()->path.c_str(), static_cast<long long>(start_step_), o_.steps);
  if (!o_.export_path.empty()) {
    engine_->export_safetensors(o_.export_path);
    if (rank_ == 0) std::printf("exported %s\n", o_.export_path.c_str());
  }
  return false;
}

std::string Trainer::tp_comm_mode() const {
  // On GPUs the collectives are enqueued between the kernels on one stream: the host never waits for one alone.
  if (on_gpu_ && plan_.tp > 1) return "NCCL on the model's stream, inside the step time: not timed apart";
  if (!o_.tp_comm_overlap || plan_.tp == 1) return "blocking collectives";
  return fmt::format("overlapped: {}{}", o_.tp_comm_method,
                     o_.tp_comm_method == "pipelined" ? fmt::format(" in {} chunks", o_.tp_comm_chunks) : "");
}

void Trainer::start_result_document() {
  const ShardMemory mem = engine_->memory();
  if (rank_ == 0 && kind_ == TrainerKind::megatron)
    std::printf(
        "megatron | ranks: %d | tensor parallel: %d | data parallel: %d | sequence parallel: %s | distributed "
        "optimizer: %s | overlap grad reduce: %s | tp comm: %s | per-rank bytes: params %lld, grads %lld, "
        "optimizer %lld (%.2f MiB)\n",
        comm_->size(), plan_.tp, plan_.world, plan_.sequence_parallel ? "on" : "off",
        plan_.sharding == ShardingMode::grad_op ? "on" : "off", o_.no_overlap ? "off" : "on", tp_comm_mode().c_str(),
        static_cast<long long>(mem.params), static_cast<long long>(mem.grads), static_cast<long long>(mem.optimizer),
        mib(mem.state()));
  if (rank_ == 0 && kind_ == TrainerKind::fsdp)
    std::printf(
        "fsdp | ranks: %d | sharding: %s | shard group: %d | overlap: %s | param/reduce dtype: %s/%s | "
        "per-rank bytes: params %lld, grads %lld, optimizer %lld, state %lld (%.2f MiB), gathered buffers "
        "%lld\n",
        plan_.world, sharding_mode_name(plan_.sharding), plan_.shard_group, o_.no_overlap ? "off" : "on",
        plan_.param_bf16 ? "bf16" : "fp32", o_.reduce_dtype.c_str(), static_cast<long long>(mem.params),
        static_cast<long long>(mem.grads), static_cast<long long>(mem.optimizer), static_cast<long long>(mem.state()),
        mib(mem.state()), static_cast<long long>(mem.gathered));
  flops_ = step_flops(plan_);
  doc_ = make_result_document(name(), argc_, argv_);
  doc_.world_size = comm_->size();
  doc_.hosts = world_.bootstrap->hosts();
  doc_.backend = std::string(comm_->backend());
  doc_.config = config_json(o_, plan_, data_->describe());
  doc_.config[on_gpu_ ? "gpu_peak_bf16_flops" : "sgemm_peak_flops"] = peak_.flops;
  if (on_gpu_) doc_.config["gpu"] = device_description(comm_->device());
  doc_.config["memory_estimate_per_rank"] = estimate_memory(plan_).to_json();
  totals_.peak_flops = peak_.flops;
  totals_.peak_source = peak_.source;
  totals_.on_gpu = on_gpu_;
  totals_.recompute = plan_.recompute;
  totals_.memory = mem;
}

// Exposed communication as the issue of record defines it: a step's forward/backward phase minus the same work
// with communication skipped, measured after the first (warm-up) step: the median of three, as one measurement
// can land in a slow spell of a shared machine and hide or inflate every step's figure.
void Trainer::measure_compute_only() {
  std::array<double, 3> runs{};
  for (double& ms : runs) ms = engine_->measure_compute_only();
  std::sort(runs.begin(), runs.end());
  totals_.compute_only_ms = runs[1];
}

void Trainer::step(int s) {
  const FsdpStepStats fs = engine_->step(*data_, s);
  const StepStats& st = fs.base;
  // The engine's buffers live from the first step on, so the use after a step is its peak (torchtitan logs the
  // allocator's peak; this counts the whole device: cuBLAS workspaces and NCCL's buffers too).
  if (on_gpu_) gpu_memory_peak_ = std::max(gpu_memory_peak_, memory_use(comm_->device()).used);
  // One rank communicates nothing: its exposed communication is zero, not noise (and costs no extra passes).
  const bool communicates = plan_.world > 1;
  if (s == start_step_ && communicates) measure_compute_only();
  const double compute_only_ms = totals_.compute_only_ms;
  // Not clamped: a negative figure (the step ran faster than the same work without communication, noise on a
  // busy machine) is printed as measured and marked invalid.
  const double exposed = communicates ? st.compute_ms - compute_only_ms : 0.0;
  totals_.bytes_all_gathered = fs.bytes_all_gathered;
  totals_.bytes_reduce_scattered = fs.bytes_reduce_scattered;
  totals_.bytes_all_reduced = fs.bytes_all_reduced;
  const StepRates rates = step_rates(st.step_ms, flops_, plan_.tokens_per_step(), peak_.flops, comm_->size());
  totals_.final_loss = st.loss;
  finite_ = finite_ && std::isfinite(st.loss) && std::isfinite(st.grad_norm);
  series_.add(s + 1, fs, rates, exposed, s > start_step_ || o_.steps == start_step_ + 1);
  const bool logged = s == 0 || (s + 1) % o_.log_every == 0 || s + 1 == o_.steps;
  if (rank_ == 0 && logged) print_step(s, fs, rates, exposed, communicates ? compute_only_ms : -1);
  if (logged) write_metrics(s, fs, rates, exposed);
}

// The step line's figures for awsdt-exporter (or node_exporter's textfile collector), SI units.
void Trainer::write_metrics(int s, const FsdpStepStats& fs, const StepRates& rates, double exposed) const {
  const StepStats& st = fs.base;
  std::vector<MetricValue> values = {
      {"awsdt_step", "Last logged training step.", double(s + 1)},
      {"awsdt_steps", "Steps the run is to train.", double(o_.steps)},
      {"awsdt_loss", "Training loss of the last logged step.", st.loss},
      {"awsdt_grad_norm", "Global gradient norm of the last logged step.", st.grad_norm},
      {"awsdt_learning_rate", "Learning rate of the last logged step.", st.lr},
      {"awsdt_step_seconds", "Time of the last logged step.", st.step_ms / 1e3},
      {"awsdt_tokens_per_second", "Tokens per second of the whole job at the last logged step.", rates.tokens_per_s},
      {"awsdt_tokens_per_second_per_device", "Tokens per second per device.", rates.tokens_per_s_per_device},
      {"awsdt_tflops_per_device", "Model TFLOP/s per device.", rates.tflops_per_device},
      {"awsdt_mfu_ratio", "Model FLOPs utilization (0-1; NaN when the peak is unknown).", rates.mfu_percent / 100},
      {"awsdt_exposed_comm_seconds", "Communication not hidden behind compute in the last logged step.",
       exposed / 1e3}};
  if (kind_ == TrainerKind::megatron)
    values.push_back({"awsdt_tp_exposed_comm_seconds",
                      "Tensor-parallel communication not hidden behind compute in the last logged step (this rank's).",
                      fs.tp_comm_ms / 1e3});
  metrics_.write(values);
}

void Trainer::print_step(int s, const FsdpStepStats& fs, const StepRates& rates, double exposed,
                         double compute_only_ms) {
  if (kind_ == TrainerKind::megatron) {
    const std::int64_t consumed = static_cast<std::int64_t>(s + 1) * plan_.global_batch;
    std::printf("%s\n", megatron_iteration_line(s + 1, o_.steps, consumed, fs.base, rates, plan_.global_batch).c_str());
  }
  std::printf("%s\n", step_line(s + 1, o_.steps, fs.base, rates).c_str());
  std::printf("%s\n", comm_line(s + 1, o_.steps, fs, exposed, compute_only_ms, on_gpu_).c_str());
  if (kind_ == TrainerKind::megatron)
    std::printf("%s\n",
                tp_comm_line(s + 1, o_.steps, fs.tp_comm_ms, plan_.tp, tp_comm_mode(), peak_rss_bytes()).c_str());
}

// A signal may reach only some ranks: all of them stop after the same step. One that arrives during the last
// step stops nothing: the run is complete, and a requeue would run it again.
void Trainer::checkpoint_if_due(int s) {
  const bool last = s + 1 == o_.steps;
  const auto signalled = [&] { return all_reduce_value(*comm_, std::int32_t{deferred_signal()}, ReduceOp::max); };
  preempted_by_ = last ? 0 : signalled();
  if (checkpoints_->due(s + 1, preempted_by_ != 0)) {
    watchdog_->arm(fmt::format("the checkpoint save after step {}", s + 1));
    engine_->set_kill_in_save(o_.faults.kills_in_save(rank_, s + 1));
    const std::string path = checkpoints_->save(*engine_, s + 1, plan_.world, rank_, data_->describe());
    if (o_.faults.signals_in_save(s + 1)) std::raise(SIGTERM);  // as if during the save
    if (rank_ == 0) std::printf("checkpoint %d/%d | saved %s\n", s + 1, o_.steps, path.c_str());
    // A signal during the save: the checkpoint just written is the one to resume from; stop now rather than
    // after another step and save, which the scheduler's grace period (30 s by default) may not allow.
    if (!preempted_by_ && !last) preempted_by_ = signalled();
  }
  if (preempted_by_ && rank_ == 0)
    std::printf("preempted by signal %d after step %d/%d: %s; exiting with status %d%s\n", preempted_by_, s + 1,
                o_.steps, o_.checkpoint_dir.empty() ? "no --checkpoint-dir, nothing saved" : "checkpoint saved",
                preempted_exit_status(),
                o_.checkpoint_dir.empty() ? " (not requeue: a rerun would start over)" : " (requeue)");
}

// "Requeue me" only with a checkpoint to resume from. Without one a requeued job would start over, and on a time
// limit (Slurm's USR1 before it) start over forever: exit as the signal would have ended the process.
int Trainer::preempted_exit_status() const { return o_.checkpoint_dir.empty() ? 128 + preempted_by_ : kExitRequeue; }

int Trainer::finish() {
  doc_.rows = series_.rows();
  totals_.activation_bytes = engine_->activation_bytes();
  totals_.rss = peak_rss_bytes();
  totals_.max_rss = all_reduce_value(*comm_, totals_.rss, ReduceOp::max);
  if (on_gpu_)
    totals_.gpu_memory = {all_reduce_value(*comm_, gpu_memory_peak_, ReduceOp::max), memory_use(comm_->device()).total};
  if (!o_.dump_params.empty()) {
    const std::vector<float> full = engine_->full_params();
    if (rank_ == 0)
      write_file_atomic(o_.dump_params,
                        std::string(reinterpret_cast<const char*>(full.data()), full.size() * sizeof(float)));
  }
  if (!o_.export_path.empty() && !preempted_by_) {
    engine_->export_safetensors(o_.export_path);
    if (rank_ == 0) std::printf("exported %s\n", o_.export_path.c_str());
  }
  doc_.summary = summary_json(series_, totals_);
  if (rank_ == 0) std::printf("%s\n", summary_line(series_, totals_).c_str());
  if (o_.op_breakdown && rank_ == 0) {
    const OpBreakdown ob = measure_op_breakdown(plan_.model, plan_.micro_batch, plan_.seq_len);
    const double compute_ms = series_.compute_ms().p50, step_ms = series_.step_ms().p50;
    doc_.summary["op_breakdown"] = report_op_breakdown(ob, compute_ms / plan_.grad_accum, step_ms - compute_ms,
                                                       flops_ / (plan_.grad_accum * plan_.world));
  }
  doc_.add_check("finite loss", finite_, fmt::format("final loss {}", totals_.final_loss));
  if (preempted_by_) {
    doc_.summary["preempted_by_signal"] = preempted_by_;
    if (rank_ == 0 && !o_.output.empty()) write_result_document(doc_, o_.output);
    // Every rank leaves together, after rank 0 has written everything: a launcher ends the job on the first
    // non-zero exit.
    all_reduce_value(*comm_, std::int32_t{1}, ReduceOp::min);
    return preempted_exit_status();
  }
  if (rank_ != 0) return doc_.passed() ? 0 : 1;
  if (!o_.output.empty()) write_result_document(doc_, o_.output);
  return report_checks(doc_, "awsdt-fsdp");
}

}  // namespace awsdt::train
