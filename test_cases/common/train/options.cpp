// Flag registration and validation for awsdt-fsdp.
#include "train/options.hpp"

#include <algorithm>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "bench/metrics_file.hpp"
#include "bench/options.hpp"
#include "device/device.hpp"
#include "train/tp_layout.hpp"
#include "util/error.hpp"
#include "util/memory.hpp"

namespace awsdt::train {

void add_options(CLI::App& app, Options& o) {
  add_training_options(app, o);
  app.add_option("--attention", o.attention,
                 "CUDA attention: auto (chunked wherever head_dim is a multiple of 8), chunked (batched cuBLAS GEMMs "
                 "on tensor cores over chunks of query rows) or flash (fused kernels on the CUDA cores)")
      ->capture_default_str();
  app.add_flag("--op-breakdown", o.op_breakdown, "after training, time GEMMs and attention alone on the same shapes");
  auto* d = app.add_option_group("FSDP", "how FSDP shards the model over the ranks");
  d->add_option("--sharding", o.sharding, "full (ZeRO-3), grad_op (ZeRO-2), none (DDP) or hybrid (HSDP)")
      ->capture_default_str();
  d->add_option("--shard-group-size", o.shard_group_size, "hybrid: ranks per shard group (0: world / 2)");
  d->add_option("--param-dtype", o.param_dtype,
                "dtype parameters are gathered in: auto (fp32 on CPUs, bf16 on GPUs), fp32 or bf16 (CPUs compute in "
                "it, GPUs always in bf16; fp32 master weights stay in the shards)")
      ->capture_default_str();
  d->add_option("--reduce-dtype", o.reduce_dtype,
                "dtype gradients are reduce-scattered in (accumulated in fp32): fp32 or bf16")
      ->capture_default_str();
}

void add_training_options(CLI::App& app, Options& o) {
  // A flag given twice takes its last value: `awsdt run fsdp -- --steps 10` passes the test case's defaults first
  // and the user's flags after them.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--model", o.model,
                 "model preset (" + fmt::format("{}", fmt::join(nn::model_preset_names(), ", ")) + ")")
      ->capture_default_str();
  app.add_option("--device", o.device,
                 "auto (cuda when a GPU is visible, else cpu), cpu (fp32 engine, FSDP over MPI ranks) or cuda[:N] "
                 "(bf16 engine, one GPU per rank, FSDP over NCCL)")
      ->capture_default_str();
  app.add_option("--threads", o.threads,
                 "CPU threads per rank for GEMMs (OpenBLAS) and the other layers (OpenMP); 0: OMP_NUM_THREADS or "
                 "OPENBLAS_NUM_THREADS when set, else the rank's share of its CPUs (those in its affinity mask, over "
                 "the ranks of its host that may use them)")
      ->capture_default_str();
  app.add_option("--steps", o.steps, "optimizer steps")->capture_default_str();
  app.add_option("--micro-batch-size", o.micro_batch_size, "sequences per forward/backward")->capture_default_str();
  app.add_option("--global-batch-size", o.global_batch_size,
                 "sequences per optimizer step over all ranks (0: micro batch x ranks); accumulation = global / "
                 "(micro x ranks)");
  app.add_option("--seq-len", o.seq_len, "tokens per sequence (0: min(model max_seq_len, 1024))");
  app.add_option("--lr", o.lr, "peak learning rate")->check(finite_number(0))->capture_default_str();
  app.add_option("--min-lr", o.min_lr,
                 "final learning rate, reached at the last step (default lr/10, the Llama recipes' cosine floor; "
                 "torchtitan's default is 0)")
      ->check(finite_number(0));
  app.add_option("--warmup-steps", o.warmup_steps,
                 "linear warm-up steps W: step s < W (0-based) runs lr·(s+1)/W (default steps/10)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--lr-schedule", o.lr_schedule,
                 "decay after warm-up, from lr at step W to --min-lr at the last step: cosine, linear or constant")
      ->capture_default_str();
  app.add_option("--weight-decay", o.adamw.weight_decay, "AdamW decoupled weight decay (matrices only)")
      ->check(finite_number(0))
      ->capture_default_str();
  app.add_option("--beta1", o.adamw.beta1, "AdamW beta1")->capture_default_str();
  app.add_option("--beta2", o.adamw.beta2, "AdamW beta2")->capture_default_str();
  app.add_option("--eps", o.adamw.eps, "AdamW epsilon")->check(finite_number(0, true))->capture_default_str();
  app.add_option("--grad-clip", o.grad_clip, "max global gradient norm (0: no clipping)")
      ->check(finite_number(0))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the initialisation and of synthetic data")
      ->check(unsigned_integer())
      ->capture_default_str();
  app.add_option("--data", o.data, "token file of raw uint16/uint32 ids (default: synthetic data)");
  app.add_option("--data-dtype", o.data_dtype, "width of the ids in --data: uint16 or uint32")->capture_default_str();
  app.add_option("--synthetic", o.synthetic, "synthetic data without --data: random or pattern (learnable)")
      ->capture_default_str();
  app.add_option("--log-every", o.log_every, "print a step line every N steps")->capture_default_str();
  app.add_option("--output,-o", o.output, "write the JSON result document here");
  add_metrics_file_option(app, o.metrics_file);
  app.add_flag("--recompute", o.recompute,
               "activation recomputation: keep only each block's input, re-run its forward in the backward");
  app.add_flag("--print-config", o.print_config, "print parameters, FLOPs/token and a memory estimate, then exit");
  app.add_option("--ranks", o.print_config_ranks,
                 "with --print-config: the data-parallel ranks to plan the batch and per-rank memory for (a launched "
                 "job uses its own count)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--check-args", o.check_args_ranks,
                 "check the other flags for N ranks (model, batch arithmetic, schedule, files), then exit 0 (or 2 "
                 "with the error) without training: awsdt run does this before it submits a job")
      ->check(CLI::PositiveNumber);
  app.add_flag("--calibrate-only", o.calibrate_only, "measure the sgemm peak FLOP/s, print it and exit");
  app.add_option("--calibrate-n", o.calibrate_n, "square matrix size of the sgemm calibration")->capture_default_str();
  app.add_flag("-v,--verbose", o.verbose, "debug logging");
  auto* d = app.add_option_group("distributed", "data parallelism over the ranks mpirun started");
  d->add_flag("--no-overlap", o.no_overlap, "wait for every gather and reduce-scatter before computing on");
  d->add_option("--step-timeout", o.step_timeout,
                "seconds a step or a checkpoint save may take before this rank aborts the job, naming itself (a "
                "peer died or hangs; collectives never time out on their own). 0: wait forever")
      ->check(finite_number(0))
      ->capture_default_str();
  d->add_option("--dump-params", o.dump_params, "after training, write the consolidated fp32 parameters (raw)");
  d->add_option("--backend", o.backend, "communication backend: auto (mpi on CPUs, nccl on GPUs), mpi or nccl")
      ->check(CLI::IsMember({"auto", "mpi", "nccl"}))
      ->capture_default_str();
  add_mpi_wait_option(*d, o.mpi_wait);
  o.faults.add_flags(app);
  auto* c = app.add_option_group("checkpoints",
                                 "sharded checkpoints, resume and preemption (SIGTERM/SIGUSR1/SIGUSR2: "
                                 "finish the step, checkpoint, exit 75 = requeue)");
  c->add_option("--checkpoint-dir", o.checkpoint_dir, "directory of sharded checkpoints (on a shared filesystem)");
  c->add_option("--checkpoint-every", o.checkpoint_every,
                "save every N steps (0: only when preempted and after the last step)")
      ->capture_default_str();
  c->add_option("--resume", o.resume, "auto (newest complete checkpoint in --checkpoint-dir), none, or a checkpoint")
      ->capture_default_str();
  c->add_option("--keep-checkpoints", o.keep_checkpoints, "complete checkpoints to keep (0: all)")
      ->capture_default_str();
  app.add_option("--init-from", o.init_from, "start from this Hugging Face Llama safetensors file (F32 or BF16)");
  app.add_option("--export,--save", o.export_path,
                 "after training, write the consolidated model as Hugging Face safetensors (F32)");
  auto* g = app.add_option_group("model overrides", "replace one field of the preset (0: keep)");
  g->add_option("--dim", o.dim, "hidden size");
  g->add_option("--n-layers", o.n_layers, "transformer blocks");
  g->add_option("--n-heads", o.n_heads, "query heads");
  g->add_option("--n-kv-heads", o.n_kv_heads, "key/value heads");
  g->add_option("--ffn-dim", o.ffn_dim, "MLP intermediate size");
  g->add_option("--vocab-size", o.vocab_size, "vocabulary size");
}

namespace {

void require(bool cond, const std::string& msg) {
  if (!cond) throw UsageError(msg);
}

}  // namespace

std::string resolve_device(const std::string& requested) {
  if (requested != "auto") return requested;
  return cuda_device_count() > 0 ? "cuda" : "cpu";
}

Plan make_plan(const Options& o, int world) {
  const Device device = for_flag("--device", [&] { return Device::parse(resolve_device(o.device)); });
  Plan p;
  require(o.tp >= 1, fmt::format("--tp must be >= 1 (got {})", o.tp));
  require(world % o.tp == 0, fmt::format("--tp {} does not divide the {} rank(s)", o.tp, world));
  p.tp = o.tp;
  p.sequence_parallel = o.sequence_parallel && o.tp > 1;
  world /= o.tp;  // from here on: the data-parallel ranks
  p.world = world;
  if (device.is_cuda()) {
    require(world == 1 || o.device == "cuda",
            "--device " + o.device +
                " names one GPU; with several ranks use --device cuda (each rank takes the GPU "
                "of its local rank)");
    require(!o.calibrate_only && !o.op_breakdown,
            "--calibrate-only and --op-breakdown need --device cpu (they measure the CPU engine's sgemm and layers)");
    // After the flag checks, so that a wrong combination is named the same way in every build.
    require(AWSDT_HAVE_CUDA,
            "--device " + o.device + ": this build of awsdt has no CUDA (configure with nvcc present)");
    p.cuda_device = device.index;
  }
  p.model = for_flag("--model", [&] { return nn::model_preset(o.model); });
  std::string overrides;  // as typed, to name them in the model's errors ("--n-heads 3: ... must divide dim")
  auto override_field = [&](int& field, int value, const char* flag) {
    if (value < 0) throw UsageError(fmt::format("{} must be positive (got {})", flag, value));
    if (value > 0) field = value;
    if (value > 0) overrides += fmt::format("{}{} {}", overrides.empty() ? "" : " ", flag, value);
  };
  override_field(p.model.dim, o.dim, "--dim");
  override_field(p.model.n_layers, o.n_layers, "--n-layers");
  override_field(p.model.n_heads, o.n_heads, "--n-heads");
  override_field(p.model.n_kv_heads, o.n_kv_heads, "--n-kv-heads");
  override_field(p.model.ffn_dim, o.ffn_dim, "--ffn-dim");
  override_field(p.model.vocab_size, o.vocab_size, "--vocab-size");
  for_flag(overrides.empty() ? "--model " + o.model : overrides, [&] { return p.model.validate(); });
  if (o.tp > 1 || o.sequence_parallel) check_tensor_parallel(p.model, o.tp);

  require(o.threads >= 0, fmt::format("--threads must be >= 0 (got {})", o.threads));
  require(o.calibrate_n >= 16 && o.calibrate_n <= 16384,
          fmt::format("--calibrate-n must be in [16, 16384] (got {})", o.calibrate_n));
  require(o.steps >= 1, fmt::format("--steps must be >= 1 (got {})", o.steps));
  require(o.log_every >= 1, fmt::format("--log-every must be >= 1 (got {})", o.log_every));
  require(o.micro_batch_size >= 1, fmt::format("--micro-batch-size must be >= 1 (got {})", o.micro_batch_size));
  require(o.seq_len >= 0, fmt::format("--seq-len must be positive (got {})", o.seq_len));
  p.seq_len = o.seq_len > 0 ? o.seq_len : std::min(p.model.max_seq_len, 1024);
  require(p.seq_len <= p.model.max_seq_len,
          fmt::format("--seq-len {} exceeds model '{}' max_seq_len {}", p.seq_len, o.model, p.model.max_seq_len));
  p.micro_batch = o.micro_batch_size;
  require(!p.sequence_parallel || (p.micro_batch * p.seq_len) % p.tp == 0,
          fmt::format("--sequence-parallel splits the {} x {} tokens of a micro-batch over --tp {}: they must divide",
                      p.micro_batch, p.seq_len, p.tp));
  p.recompute = o.recompute;
  // Checked whether or not --tp-comm-overlap is on: a bad value is a typo either way.
  require(o.tp_comm_method == "ring" || o.tp_comm_method == "pipelined" || o.tp_comm_method == "serial",
          fmt::format("--tp-comm-overlap-method '{}' is not ring, pipelined or serial", o.tp_comm_method));
  require(o.tp_comm_chunks >= 1, fmt::format("--tp-comm-overlap-chunks must be >= 1 (got {})", o.tp_comm_chunks));
  // A model this host cannot hold is refused now, naming the flags that made it so, rather than ended by the
  // OOM killer after the calibration (CPU engine: the model lives in host memory). Checked only for a run on
  // this machine: --check-args and --print-config plan for nodes that are elsewhere.
  if (!device.is_cuda() && o.check_args_ranks == 0 && !o.print_config) {
    // A lower bound of one rank's memory, whatever the world size: a whole unit gathered for compute (the
    // embedding or head, or a block; split by --tp), the block inputs kept for the backward pass (even with
    // recomputation) and the logits of a micro-batch.
    const auto& m = p.model;
    const double tokens = double(p.micro_batch) * p.seq_len;
    const double unit = std::max(double(m.vocab_size) * m.dim, 2.0 * m.dim + 2.0 * m.dim * m.dim +
                                                                   2.0 * double(m.n_kv_heads) * m.head_dim() * m.dim +
                                                                   3.0 * double(m.ffn_dim) * m.dim) /
                        p.tp;
    const double activations = tokens * m.dim * m.n_layers / (p.sequence_parallel ? p.tp : 1);
    const double logits = tokens * m.vocab_size / p.tp;
    const std::string model_flags = overrides.empty() ? "--model " + o.model : overrides;
    require_memory(4.0 * (unit + activations + logits),
                   activations + logits > unit ? fmt::format("{} with --micro-batch-size {} --seq-len {}", model_flags,
                                                             p.micro_batch, p.seq_len)
                                               : model_flags,
                   fmt::format("fp32: {:.3g} parameters of its largest unit, {:.3g} activations and {:.3g} logits",
                               unit, activations, logits));
  }
  if (o.attention == "auto") {
    p.attention = nn::AttentionKernel::automatic;
  } else if (o.attention == "chunked") {
    p.attention = nn::AttentionKernel::chunked;
    nn::runs_chunked_attention(p.attention, p.model);  // throws where it cannot run
  } else if (o.attention == "flash") {
    p.attention = nn::AttentionKernel::flash;
  } else {
    throw UsageError(fmt::format("--attention {} is not auto, chunked or flash", o.attention));
  }
  const int per_step = p.micro_batch * world;
  require(o.global_batch_size >= 0, fmt::format("--global-batch-size must be positive (got {})", o.global_batch_size));
  p.global_batch = o.global_batch_size > 0 ? o.global_batch_size : per_step;
  require(p.global_batch % per_step == 0,
          fmt::format("--global-batch-size {} is not divisible by --micro-batch-size {} x {} rank(s) = {}",
                      p.global_batch, p.micro_batch, world, per_step));
  p.grad_accum = p.global_batch / per_step;

  const auto& a = o.adamw;
  require(a.beta1 >= 0 && a.beta1 < 1, fmt::format("--beta1 must be in [0, 1) (got {})", a.beta1));
  require(a.beta2 >= 0 && a.beta2 < 1, fmt::format("--beta2 must be in [0, 1) (got {})", a.beta2));
  require(a.eps > 0, fmt::format("--eps must be positive (got {})", a.eps));
  require(a.weight_decay >= 0, fmt::format("--weight-decay must be >= 0 (got {})", a.weight_decay));

  p.schedule.lr = o.lr;
  p.schedule.min_lr = o.min_lr >= 0 ? o.min_lr : o.lr / 10;
  p.schedule.warmup_steps = o.warmup_steps >= 0 ? o.warmup_steps : o.steps / 10;
  p.schedule.total_steps = o.steps;
  p.schedule.decay = for_flag("--lr-schedule", [&] { return nn::parse_lr_decay(o.lr_schedule); });
  p.schedule.validate();
  p.data_dtype = for_flag("--data-dtype", [&] { return nn::parse_token_dtype(o.data_dtype); });
  p.synthetic = for_flag("--synthetic", [&] { return nn::parse_synthetic_kind(o.synthetic); });
  require(o.step_timeout >= 0, fmt::format("--step-timeout must be >= 0 seconds (got {})", o.step_timeout));
  require(o.checkpoint_every >= 0, fmt::format("--checkpoint-every must be >= 0 (got {})", o.checkpoint_every));
  require(o.keep_checkpoints >= 0, fmt::format("--keep-checkpoints must be >= 0 (got {})", o.keep_checkpoints));
  require(o.checkpoint_dir.empty() ? o.checkpoint_every == 0 : true, "--checkpoint-every needs --checkpoint-dir");
  require(o.param_dtype == "auto" || o.param_dtype == "fp32" || o.param_dtype == "bf16",
          fmt::format("--param-dtype must be auto, fp32 or bf16 (got '{}')", o.param_dtype));
  require(o.reduce_dtype == "fp32" || o.reduce_dtype == "bf16",
          fmt::format("--reduce-dtype must be fp32 or bf16 (got '{}')", o.reduce_dtype));
  // auto: what the device computes in. GPUs compute in bf16 whatever travels, so gathering fp32 would only
  // double the bytes (torchtitan's default: bf16 params, fp32 reduction); CPUs compute in fp32.
  p.param_bf16 = o.param_dtype == "bf16" || (o.param_dtype == "auto" && p.cuda_device >= 0);
  p.reduce_bf16 = o.reduce_dtype == "bf16";
  // Missing files fail here, before the calibration and the logs; a malformed one fails when it is read.
  require(o.init_from.empty() || std::filesystem::is_regular_file(o.init_from),
          fmt::format("--init-from '{}': no such file (expected a Hugging Face Llama .safetensors file)", o.init_from));
  std::error_code ec;
  require(o.data.empty() || std::filesystem::is_regular_file(o.data, ec),
          fmt::format("--data '{}': no such file (expected a file of raw token ids)", o.data));
  p.sharding = parse_sharding_mode(o.sharding);
  require(o.shard_group_size >= 0, fmt::format("--shard-group-size must be >= 0 (got {})", o.shard_group_size));
  p.shard_group = world;
  if (p.sharding == ShardingMode::none) p.shard_group = 1;
  if (p.sharding == ShardingMode::hybrid) {
    p.shard_group = o.shard_group_size > 0 ? o.shard_group_size : std::max(1, world / 2);
    require(world % p.shard_group == 0,
            fmt::format("--shard-group-size {} does not divide the {} rank(s)", p.shard_group, world));
  }
  return p;
}

}  // namespace awsdt::train
