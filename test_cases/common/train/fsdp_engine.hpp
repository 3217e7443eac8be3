// FsdpEngine: the multi-rank trainer. Each unit (embedding, every block, head) is one flat buffer padded to a
// multiple of the shard group size; this rank keeps only its shard of the fp32 params, grads and AdamW state.
// A step all-gathers each unit's params just before it runs (forward and backward) and, after the unit's
// backward, reduce-scatters its gradients into the shard (then all-reduces across replica groups for HSDP/DDP).
// Communication runs on its own Stream (a thread on CPUs): with overlap on, the next unit's gather and the
// previous unit's reduce-scatter proceed while the current unit computes; at most two gathered units (plus the
// tied embedding, which the head also uses) are alive at once under full sharding.
// The device is a UnitBackend (unit_backend.hpp): the same schedule runs the fp32 CPU model over MPI and the
// bf16 GPU model over NCCL; every buffer here lives in the backend's memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comm/communicator.hpp"
#include "device/device.hpp"
#include "nn/data.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/optimizer.hpp"
#include "train/checkpoint_format.hpp"
#include "train/sharding.hpp"
#include "train/step_stats.hpp"
#include "train/unit_backend.hpp"

namespace awsdt::train {

/// How the engine shards and updates.
struct EngineOptions {
  ShardingMode mode = ShardingMode::full;  ///< sharding strategy
  bool overlap = true;                     ///< prefetch gathers and run reduce-scatters behind compute
  nn::AdamWOptions adamw;                  ///< optimizer hyper-parameters
  nn::LrSchedule schedule;                 ///< learning rate per step
  double grad_clip = 1.0;                  ///< max global gradient norm (≤ 0: off)
  int grad_accum = 1;                      ///< micro-batches per step per rank
  int fail_step = -1;                      ///< test hook: this rank throws in the middle of this step (0-based)
  bool fail_hangs = false;                 ///< test hook: ... or sleeps there forever
  std::string init_from;                   ///< Hugging Face safetensors file to start from (empty: seeded init)
  std::string producer = "awsdt-fsdp";     ///< the exported safetensors' producer metadata
  /// Mixed precision as FSDP's MixedPrecision: parameters are cast to param_dtype before the all-gather (the
  /// forward and backward compute on the rounded values; fp32 master weights stay in the shards), gradients to
  /// reduce_dtype before the reduce-scatter (accumulated in fp32 after it). f32 or bf16. The backend's compute
  /// dtype applies after the gather (bf16 on GPUs whatever param_dtype is).
  DataType param_dtype = DataType::f32;
  DataType reduce_dtype = DataType::f32;
};

/// What one step measured, besides the single-process metrics.
struct FsdpStepStats {
  StepStats base;  ///< loss (global mean), grad norm, lr, times
  /// Host time spent waiting for communication: on CPUs every wait of the compute thread; on GPUs only the
  /// step's tail (the compute stream waits on events without the host), so there exposed communication is the
  /// figure to read (the step's forward/backward minus its compute-only time).
  double comm_wait_ms = 0;
  /// CPU time of the communication thread this step (CPUs; 0 on GPUs): copies, reductions and polling, cycles
  /// taken from the compute whenever every core computes, overlap or not.
  double comm_cpu_ms = 0;
  std::int64_t bytes_all_gathered = 0;      ///< gathered (full, padded) parameter bytes received this step
  std::int64_t bytes_reduce_scattered = 0;  ///< gradient bytes fed to reduce-scatters this step
  std::int64_t bytes_all_reduced = 0;       ///< gradient bytes all-reduced across replicas this step
  double tp_comm_ms = 0;  ///< the model's tensor-parallel collectives this step (blocking: all exposed)
};

/// Bytes this rank holds, by kind.
struct ShardMemory {
  std::int64_t params = 0;     ///< parameter shards (fp32)
  std::int64_t grads = 0;      ///< gradient shards (fp32)
  std::int64_t optimizer = 0;  ///< AdamW m and v of the shards
  std::int64_t gathered = 0;   ///< buffers for gathered params and full-unit grads
  /// params + grads + optimizer.
  std::int64_t state() const { return params + grads + optimizer; }
};

/// The sharded trainer of one rank.
class FsdpEngine {
 public:
  /// backend: the device the model runs on (the communicators' device); a backend with a model-parallel group
  /// (tensor parallelism) holds slices of the units, and the groups below are then its data-parallel ones.
  /// world: all ranks; shard: the group
  /// params are sharded over (nullptr: size 1); replicate: the group gradients are all-reduced over after the
  /// reduce-scatter (nullptr: size 1). Initialises the model from seed (identical on every rank, unit by unit)
  /// or from options.init_from, and keeps this rank's shards.
  FsdpEngine(std::unique_ptr<UnitBackend> backend, std::uint64_t seed, EngineOptions options, Communicator& world,
             Communicator* shard, Communicator* replicate);
  ~FsdpEngine();

  /// One optimizer step on grad_accum micro-batches of data.
  FsdpStepStats step(nn::TokenSource& data, int step);
  /// Milliseconds of forward and backward for one step's micro-batches with all communication skipped (on
  /// whatever the gathered buffers hold, the last step's batch): the compute-only time that, subtracted from a
  /// step's compute phase, gives the communication the step exposes: waits, and compute slowed by copies that
  /// compete for cores and memory. Call after a first step (warm buffers); changes no training state.
  double measure_compute_only();
  /// Bytes held by this rank.
  ShardMemory memory() const;
  /// Bytes of activations the last forward kept (0 before the first step).
  std::int64_t activation_bytes() const { return backend_->activation_bytes(); }
  /// Collective over the shard group: on world rank 0, every unit's real parameters concatenated in unit order;
  /// empty on the other ranks.
  std::vector<float> full_params();
  /// Collective over the world: writes this rank's shards of params and AdamW state into the checkpoint
  /// directory path (replica group 0 writes; the others hold copies), then world rank 0 adds what the engine
  /// knows (shards, files, units, optimizer steps) to meta and commits it. Every rank returns after the commit.
  void save_checkpoint(const std::string& path, nlohmann::json meta);
  /// Replaces params and AdamW state with the checkpoint's, reading this rank's ranges from whichever shard
  /// files hold them (any shard count). Throws UsageError when the checkpoint's units do not fit this model.
  void load_checkpoint(const CheckpointInfo& checkpoint);
  /// Collective over the world: world rank 0 writes the consolidated model as Hugging Face safetensors (F32).
  void export_safetensors(const std::string& path);
  /// Test hook: SIGKILL this process inside the next save, after its shard is written, before the commit.
  void set_kill_in_save(bool on) { kill_in_save_ = on; }
  /// Optimizer updates taken (restored by load_checkpoint).
  std::int64_t optimizer_steps() const;

 private:
  struct Unit;
  struct Slot;
  void issue_gather(int u);
  void wait_params(int u);
  void bind(int u);
  void begin_grads(int u);
  void issue_reduce(int u);
  void wait(const Event& e);
  void compute_units(bool forward, double& loss);
  void forward_micro_batch(const nn::TokenBatch& batch, double& loss);
  void backward_micro_batch();
  bool sharded() const { return shard_size_ > 1; }
  /// Ranks that hold copies of the same slice: the world over the model-parallel group.
  int data_parallel() const { return world_.size() / mp_size_; }
  /// Unit u's gradient shard for the norm: all of it, or (model-parallel ranks > 0) the tensors counted here.
  void add_norm_spans(int u, std::vector<UnitBackend::FloatSpan>& spans) const;
  /// This rank's shard file of a checkpoint.
  std::string shard_file(int shard, int shards) const;
  /// Whether the backward adds straight into the units' gradient shards: with nothing to communicate (one rank,
  /// fp32 gradients) a shard is the whole unit, and a gradient slot would only cost a zeroing and a copy per unit.
  bool grads_in_place() const { return !sharded() && replicas_ == 1 && options_.reduce_dtype == DataType::f32; }
  /// Whether units compute on gathered copies (param slots) rather than on the shard itself.
  bool gathers() const {
    return sharded() || options_.param_dtype != DataType::f32 || backend_->compute_dtype() != DataType::f32;
  }
  Buffer alloc(std::size_t bytes) const { return Buffer(bytes, backend_->memory_kind(), backend_->device()); }
  std::vector<float> download(const Buffer& b, std::size_t n);
  void upload(Buffer& b, const std::vector<float>& host);

  std::unique_ptr<UnitBackend> backend_;
  EngineOptions options_;
  Communicator& world_;
  Communicator* shard_;
  Communicator* replicate_;
  int shard_size_ = 1, shard_rank_ = 0, replicas_ = 1;
  int mp_size_ = 1, mp_rank_ = 0;  // the backend's model-parallel group (tensor parallelism)
  bool tied_ = false;
  std::vector<Unit> units_;
  std::vector<Slot> param_slots_, grad_slots_;
  Stream stream_;
  nn::TokenBatch batch_;
  std::int64_t adam_steps_ = 0;
  float grad_scale_ = 1.0f;         // 1 / (ranks · micro-batches): the shards hold sums, AdamW takes the mean
  bool first_micro_batch_ = false;  // its reduced gradients overwrite the shards (no zeroing, no add)
  bool last_micro_batch_ = true;    // the step's last: its backward leaves no unit gathered
  bool kill_in_save_ = false;
  bool compute_only_ = false;  // measure_compute_only(): gathers and reduce-scatters are skipped
  double exposed_ms_ = 0;
  std::int64_t gathered_bytes_ = 0, scattered_bytes_ = 0, reduced_bytes_ = 0;
};

}  // namespace awsdt::train
