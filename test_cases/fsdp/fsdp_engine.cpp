// FsdpEngine: per-unit gather / compute / reduce-scatter, the sharded optimizer step, and the comm schedule.
#include "fsdp_engine.hpp"

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "nn/safetensors.hpp"
#include "util/error.hpp"
#include "util/half.hpp"

namespace awsdt::fsdp {
namespace {

using Clock = std::chrono::steady_clock;

void round_to_bf16(const float* src, std::uint16_t* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = float_to_bf16(src[i]);
}

}  // namespace

// One unit: its shard of params and grads, its optimizer, and which gather / grad buffers it uses.
struct FsdpEngine::Unit {
  UnitShardLayout layout;
  std::vector<float> params, grads;  // this rank's shard
  std::unique_ptr<nn::AdamW> opt;
  int param_slot = -1, grad_slot = -1;
  bool gathered = false;
};

// A full-unit buffer (gathered params or full grads) and the event marking its last communication; with bf16
// communication, `low` is the bf16 copy that travels.
struct FsdpEngine::Slot {
  std::vector<float> buf;
  std::vector<std::uint16_t> low;
  Event ready{Device::cpu()};
};

FsdpEngine::FsdpEngine(const nn::ModelConfig& config, std::uint64_t seed, EngineOptions options,
                       Communicator& world, Communicator* shard, Communicator* replicate)
    : model_(config, seed), options_(std::move(options)), world_(world), shard_(shard), replicate_(replicate),
      stream_(Device::cpu()) {
  AWSDT_CHECK(options_.grad_accum >= 1, "FsdpEngine: grad_accum must be >= 1");
  shard_size_ = shard ? shard->size() : 1;
  shard_rank_ = shard ? shard->rank() : 0;
  replicas_ = replicate ? replicate->size() : 1;
  AWSDT_CHECK(shard_size_ * replicas_ == world.size(), "FsdpEngine: shard x replica groups must cover the world");
  for (DataType t : {options_.param_dtype, options_.reduce_dtype})
    AWSDT_CHECK(t == DataType::f32 || t == DataType::bf16, "FsdpEngine: param and reduce dtypes are f32 or bf16");
  if (!options_.init_from.empty()) nn::load_safetensors(model_, options_.init_from);
  model_.set_recompute(options_.recompute);
  tied_ = model_.config().tied_embeddings;
  const int U = static_cast<int>(model_.units().size());
  const bool keep_all = options_.mode == ShardingMode::grad_op;
  // Slots: full/hybrid alternate two buffers (consecutive units never share one); grad_op keeps one per unit;
  // the tied embedding has its own (the head needs it too). Unsharded fp32 runs use the shard itself as params.
  const int n_param_slots = !gathers() ? 0 : keep_all ? U : 3;
  param_slots_.resize(static_cast<std::size_t>(n_param_slots));
  grad_slots_.resize(3);
  units_.resize(static_cast<std::size_t>(U));
  for (int u = 0; u < U; ++u) {
    nn::ParamUnit& pu = model_.units()[static_cast<std::size_t>(u)];
    Unit& x = units_[static_cast<std::size_t>(u)];
    x.layout = shard_unit(pu.params.size(), shard_size_, shard_rank_);
    x.params.assign(x.layout.shard, 0.0f);
    x.grads.assign(x.layout.shard, 0.0f);
    const std::size_t lo = std::min(x.layout.begin, x.layout.size);
    const std::size_t hi = std::min(x.layout.begin + x.layout.shard, x.layout.size);
    std::copy(pu.params.begin() + static_cast<std::ptrdiff_t>(lo), pu.params.begin() + static_cast<std::ptrdiff_t>(hi),
              x.params.begin());
    x.opt = std::make_unique<nn::AdamW>(options_.adamw, x.layout.shard,
                                        nn::decay_segments(pu.layout, x.layout.begin, x.layout.begin + x.layout.shard));
    const bool own = tied_ && u == 0;
    x.grad_slot = own ? 2 : u % 2;
    if (gathers()) x.param_slot = keep_all ? u : own ? 2 : u % 2;
    // The model keeps only layouts: its full buffers go, the shards are the truth.
    pu.params = {};
    pu.grads = {};
  }
  for (Unit& x : units_) {
    if (x.param_slot >= 0) {
      Slot& p = param_slots_[static_cast<std::size_t>(x.param_slot)];
      if (p.buf.size() < x.layout.padded) p.buf.resize(x.layout.padded);
      if (options_.param_dtype == DataType::bf16 && p.low.size() < x.layout.padded) p.low.resize(x.layout.padded);
    }
    Slot& g = grad_slots_[static_cast<std::size_t>(x.grad_slot)];
    if (g.buf.size() < x.layout.padded) g.buf.resize(x.layout.padded);
    if (options_.reduce_dtype == DataType::bf16 && g.low.size() < x.layout.padded) g.low.resize(x.layout.padded);
  }
}

FsdpEngine::~FsdpEngine() {
  // Pending communication reads and writes our buffers; it must finish (or fail) before they go. When it does
  // not (unwinding from an error while a peer will never join the collective), the buffers and the stream are
  // leaked on purpose, so that the error reaches guarded_main, which reports it and aborts the job.
  bool done = false;
  try {
    done = stream_.synchronize_for(std::chrono::seconds(5));
  } catch (...) {
    done = true;
  }
  if (!done) {
    new std::vector<Unit>(std::move(units_));
    new std::vector<Slot>(std::move(param_slots_));
    new std::vector<Slot>(std::move(grad_slots_));
    new Stream(stream_);
  }
}

void FsdpEngine::wait(const Event& e) {
  const auto t0 = Clock::now();
  e.synchronize();
  exposed_ms_ += ms_since(t0);
}

void FsdpEngine::issue_gather(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  if (!gathers() || x.gathered) return;
  x.gathered = true;
  if (compute_only_) return;
  Slot& s = param_slots_[static_cast<std::size_t>(x.param_slot)];
  if (options_.param_dtype == DataType::f32) {
    shard_->all_gather(x.params.data(), s.buf.data(), x.layout.shard, DataType::f32, stream_);
  } else {
    // Cast this rank's shard into its place in the bf16 buffer, gather in place, widen for compute: all on the
    // communication stream, so the compute thread only sees the result.
    std::uint16_t* full = s.low.data();
    std::uint16_t* mine = full + x.layout.begin;
    stream_.enqueue([&x, mine] { round_to_bf16(x.params.data(), mine, x.layout.shard); });
    if (sharded()) shard_->all_gather(mine, full, x.layout.shard, DataType::bf16, stream_);
    stream_.enqueue([&x, &s] {
      for (std::size_t i = 0; i < x.layout.padded; ++i) s.buf[i] = bf16_to_float(s.low[i]);
    });
  }
  s.ready.record(stream_);
  if (sharded())
    gathered_bytes_ += static_cast<std::int64_t>(x.layout.padded * dtype_size(options_.param_dtype));
}

void FsdpEngine::wait_params(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  if (!gathers()) return;
  issue_gather(u);
  wait(param_slots_[static_cast<std::size_t>(x.param_slot)].ready);
}

void FsdpEngine::swap_params(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  std::vector<float>& target = model_.units()[static_cast<std::size_t>(u)].params;
  std::swap(target, gathers() ? param_slots_[static_cast<std::size_t>(x.param_slot)].buf : x.params);
}

void FsdpEngine::begin_grads(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  Slot& g = grad_slots_[static_cast<std::size_t>(x.grad_slot)];
  wait(g.ready);  // the slot's previous reduce-scatter has consumed it
  float* buf = g.buf.data();
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < x.layout.padded; ++i) buf[i] = 0.0f;
}

void FsdpEngine::swap_grads(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  std::swap(model_.units()[static_cast<std::size_t>(u)].grads, grad_slots_[static_cast<std::size_t>(x.grad_slot)].buf);
}

void FsdpEngine::issue_reduce(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  if (compute_only_) return;
  Slot& g = grad_slots_[static_cast<std::size_t>(x.grad_slot)];
  const DataType t = options_.reduce_dtype;
  const bool low = t == DataType::bf16;
  if (low) {
    stream_.enqueue([&x, &g] { round_to_bf16(g.buf.data(), g.low.data(), x.layout.padded); });
  }
  // In place: this rank's block of the full buffer (the whole buffer when unsharded).
  void* full = low ? static_cast<void*>(g.low.data()) : static_cast<void*>(g.buf.data());
  void* mine = static_cast<char*>(full) + x.layout.begin * dtype_size(t);
  if (sharded()) {
    shard_->reduce_scatter(full, mine, x.layout.shard, t, ReduceOp::sum, stream_);
    scattered_bytes_ += static_cast<std::int64_t>(x.layout.padded * dtype_size(t));
  }
  if (replicas_ > 1) {
    replicate_->all_reduce(mine, mine, x.layout.shard, t, ReduceOp::sum, stream_);
    reduced_bytes_ += static_cast<std::int64_t>(x.layout.shard * dtype_size(t));
  }
  const float scale = grad_scale_;
  if (!sharded() && replicas_ == 1 && !low) {
    // Nothing to communicate (one rank): accumulate here, on the compute threads. On the stream's thread this
    // loop would take a core from the next unit's backward and stall its OpenMP team at every barrier.
    const float* m = static_cast<const float*>(mine);
    float* acc = x.grads.data();
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < x.layout.shard; ++i) acc[i] += m[i] * scale;
    return;
  }
  stream_.enqueue([&x, mine, low, scale] {
    if (low) {
      const auto* m = static_cast<const std::uint16_t*>(mine);
      for (std::size_t i = 0; i < x.layout.shard; ++i) x.grads[i] += bf16_to_float(m[i]) * scale;
    } else {
      const auto* m = static_cast<const float*>(mine);
      for (std::size_t i = 0; i < x.layout.shard; ++i) x.grads[i] += m[i] * scale;
    }
  });
  g.ready.record(stream_);
  if (!options_.overlap) wait(g.ready);
}

void FsdpEngine::forward_micro_batch(const nn::TokenBatch& batch, double& loss) {
  const int U = static_cast<int>(units_.size());
  const bool reshard = options_.mode == ShardingMode::full || options_.mode == ShardingMode::hybrid;
  model_.forward_begin(batch.inputs.data(), batch.targets.data(), batch.B, batch.T);
  if (options_.overlap) issue_gather(0);
  for (int u = 0; u < U; ++u) {
    wait_params(u);
    if (options_.overlap && u + 1 < U) issue_gather(u + 1);  // prefetch while this unit computes
    const bool head = u == U - 1;
    if (head && tied_ && u != 0) wait_params(0);
    swap_params(u);
    if (head && tied_) swap_params(0);
    if (u == 0) {
      model_.forward_embedding();
    } else if (!head) {
      model_.forward_block(u - 1);
    } else {
      loss += model_.forward_head();
    }
    if (head && tied_) swap_params(0);
    swap_params(u);
    // Reshard after forward, except the head (backward starts with it) and the tied embedding (the head uses it).
    if (reshard && !head && !(tied_ && u == 0)) units_[static_cast<std::size_t>(u)].gathered = false;
  }
}

void FsdpEngine::backward_micro_batch() {
  const int U = static_cast<int>(units_.size());
  if (tied_) begin_grads(0);  // the head adds into the embedding's gradient too
  for (int u = U - 1; u >= 0; --u) {
    wait_params(u);
    if (options_.overlap && u > 0) issue_gather(u - 1);  // prefetch the next unit of the backward
    const bool head = u == U - 1;
    if (!(tied_ && u == 0)) begin_grads(u);
    swap_params(u);
    swap_grads(u);
    if (head && tied_) {
      swap_params(0);
      swap_grads(0);
    }
    if (u == 0) {
      model_.backward_embedding();
    } else if (!head) {
      model_.backward_block(u - 1);
    } else {
      model_.backward_head();
    }
    if (head && tied_) {
      swap_grads(0);
      swap_params(0);
    }
    swap_grads(u);
    swap_params(u);
    issue_reduce(u);  // overlaps the next unit's backward
    units_[static_cast<std::size_t>(u)].gathered = false;
  }
}

FsdpStepStats FsdpEngine::step(nn::TokenSource& data, int step) {
  FsdpStepStats out;
  StepStats& s = out.base;
  exposed_ms_ = 0;
  gathered_bytes_ = scattered_bytes_ = reduced_bytes_ = 0;
  const auto t0 = Clock::now();
  for (Unit& x : units_) std::fill(x.grads.begin(), x.grads.end(), 0.0f);
  grad_scale_ = 1.0f / static_cast<float>(static_cast<double>(world_.size()) * options_.grad_accum);
  double loss = 0;
  for (int i = 0; i < options_.grad_accum; ++i) {
    data.next(batch_);
    forward_micro_batch(batch_, loss);
    if (step == options_.fail_step && i == 0)
      throw std::runtime_error("test hook: rank " + std::to_string(world_.rank()) + " dies in the middle of step " +
                  std::to_string(step + 1) + " (--fail-at-step)");
    backward_micro_batch();
  }
  {
    const auto tw = Clock::now();
    stream_.synchronize();
    exposed_ms_ += ms_since(tw);
  }
  for (Unit& x : units_) x.gathered = false;
  s.compute_ms = ms_since(t0);

  const auto t1 = Clock::now();
  double sums[2] = {loss / options_.grad_accum, 0.0};
  for (const Unit& x : units_) sums[1] += nn::sum_of_squares(x.grads);
  {
    const auto tw = Clock::now();
    double global_loss = sums[0];
    world_.all_reduce(&global_loss, &global_loss, 1, DataType::f64, ReduceOp::sum, stream_);
    if (sharded()) shard_->all_reduce(&sums[1], &sums[1], 1, DataType::f64, ReduceOp::sum, stream_);
    stream_.synchronize();
    sums[0] = global_loss;
    exposed_ms_ += ms_since(tw);
  }
  s.loss = sums[0] / world_.size();
  s.grad_norm = std::sqrt(sums[1]);
  const double coef = nn::clip_coefficient(s.grad_norm, options_.grad_clip);
  s.lr = options_.schedule.at(step);
  for (Unit& x : units_) {
    if (coef < 1.0) nn::scale(x.grads, static_cast<float>(coef));
    x.opt->step(x.params, x.grads, s.lr);
  }
  s.optimizer_ms = ms_since(t1);
  s.step_ms = ms_since(t0);
  out.comm_wait_ms = exposed_ms_;
  out.bytes_all_gathered = gathered_bytes_;
  out.bytes_reduce_scattered = scattered_bytes_;
  out.bytes_all_reduced = reduced_bytes_;
  return out;
}

double FsdpEngine::measure_compute_only() {
  stream_.synchronize();
  compute_only_ = true;
  const auto t0 = Clock::now();
  double loss = 0;
  try {
    for (int i = 0; i < options_.grad_accum; ++i) {
      forward_micro_batch(batch_, loss);
      backward_micro_batch();
    }
  } catch (...) {
    compute_only_ = false;
    throw;
  }
  const double ms = ms_since(t0);
  compute_only_ = false;
  for (Unit& x : units_) x.gathered = false;
  exposed_ms_ = 0;
  return ms;
}

ShardMemory FsdpEngine::memory() const {
  ShardMemory m;
  for (const Unit& x : units_) {
    const auto b = static_cast<std::int64_t>(x.layout.shard * sizeof(float));
    m.params += b;
    m.grads += b;
    m.optimizer += 2 * b;
  }
  for (const auto* slots : {&param_slots_, &grad_slots_})
    for (const Slot& s : *slots) m.gathered += static_cast<std::int64_t>(s.buf.size() * sizeof(float));
  return m;
}

std::vector<float> FsdpEngine::full_params() {
  std::vector<float> out, tmp;
  for (const Unit& x : units_) {
    const float* src = x.params.data();
    if (sharded()) {
      tmp.resize(x.layout.padded);
      shard_->all_gather(x.params.data(), tmp.data(), x.layout.shard, DataType::f32, stream_);
      stream_.synchronize();
      src = tmp.data();
    }
    out.insert(out.end(), src, src + x.layout.size);
  }
  return out;
}

}  // namespace awsdt::fsdp

namespace awsdt::fsdp {
namespace {

// Collective agreement on a per-rank outcome: true on every rank only if ok on every rank.
bool all_ok(Communicator& comm, bool ok, Stream& stream) {
  std::int32_t v = ok ? 1 : 0;
  comm.all_reduce(&v, &v, 1, DataType::i32, ReduceOp::min, stream);
  stream.synchronize();
  return v == 1;
}

std::string tensor_name(std::size_t u, const char* what) { return fmt::format("unit.{}.{}", u, what); }

}  // namespace

std::int64_t FsdpEngine::optimizer_steps() const { return units_.front().opt->step_count(); }

void FsdpEngine::save_checkpoint(const std::string& path, nlohmann::json meta) {
  stream_.synchronize();
  const bool leader = world_.rank() == 0;
  std::string error;
  try {
    if (leader) prepare_checkpoint_dir(path);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!all_ok(world_, error.empty(), stream_))
    throw UsageError(error.empty() ? "checkpoint: rank 0 could not prepare " + path : error);

  // One replica writes each shard; the shard file sizes travel to rank 0 for the metadata (a sum over ranks with
  // one non-zero writer per slot).
  const bool writer = !replicate_ || replicate_->rank() == 0;
  std::vector<std::int64_t> bytes(static_cast<std::size_t>(shard_size_), 0);
  if (writer) {
    try {
      std::vector<ShardTensor> tensors;
      for (std::size_t u = 0; u < units_.size(); ++u) {
        const Unit& x = units_[u];
        tensors.push_back({tensor_name(u, "param"), x.params});
        tensors.push_back({tensor_name(u, "exp_avg"), x.opt->m()});
        tensors.push_back({tensor_name(u, "exp_avg_sq"), x.opt->v()});
      }
      const std::string file = path + "/" + shard_file_name(shard_rank_, shard_size_);
      bytes[static_cast<std::size_t>(shard_rank_)] = static_cast<std::int64_t>(write_shard_file(file, tensors));
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (kill_in_save_) std::raise(SIGKILL);  // test hook: die between the shards and the metadata
  }
  if (!all_ok(world_, error.empty(), stream_))
    throw UsageError(error.empty() ? "checkpoint: another rank could not write its shard of " + path : error);
  world_.all_reduce(bytes.data(), bytes.data(), bytes.size(), DataType::i64, ReduceOp::sum, stream_);
  stream_.synchronize();

  if (leader) {
    try {
      meta["format"] = kCheckpointFormat;
      meta["version"] = kCheckpointVersion;
      meta["shards"] = shard_size_;
      meta["optimizer_steps"] = optimizer_steps();
      nlohmann::json files = nlohmann::json::array(), units = nlohmann::json::array();
      for (int i = 0; i < shard_size_; ++i)
        files.push_back({{"name", shard_file_name(i, shard_size_)}, {"bytes", bytes[static_cast<std::size_t>(i)]}});
      for (const Unit& x : units_) units.push_back({{"size", x.layout.size}, {"padded", x.layout.padded}});
      meta["files"] = files;
      meta["units"] = units;
      commit_checkpoint(path, meta);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  // Nobody returns (and perhaps exits) before the checkpoint is complete.
  if (!all_ok(world_, error.empty(), stream_))
    throw UsageError(error.empty() ? "checkpoint: rank 0 could not commit " + path : error);
}

void FsdpEngine::load_checkpoint(const CheckpointInfo& checkpoint) {
  const auto bad = [&](const std::string& what) {
    throw UsageError(fmt::format("checkpoint '{}': {}", checkpoint.path, what));
  };
  const nlohmann::json& units = checkpoint.meta.at("units");
  if (units.size() != units_.size())
    bad(fmt::format("holds {} units, this model has {} (another model shape)", units.size(), units_.size()));
  const int old_shards = checkpoint.shards;
  std::vector<std::unique_ptr<ShardFile>> files(static_cast<std::size_t>(old_shards));
  auto file = [&](int j) -> ShardFile& {
    auto& f = files[static_cast<std::size_t>(j)];
    if (!f) f = std::make_unique<ShardFile>(checkpoint.path + "/" + shard_file_name(j, old_shards));
    return *f;
  };
  std::vector<float> m, v;
  for (std::size_t u = 0; u < units_.size(); ++u) {
    Unit& x = units_[u];
    const auto size = units[u].at("size").get<std::size_t>(), padded = units[u].at("padded").get<std::size_t>();
    if (size != x.layout.size)
      bad(fmt::format("unit {} has {} parameters, this model's has {} (another model shape)", u, size, x.layout.size));
    if (padded % static_cast<std::size_t>(old_shards) != 0 || padded < size)
      bad(fmt::format("unit {} is padded to {}, not a multiple of its {} shards", u, padded, old_shards));
    const std::size_t old_shard = padded / static_cast<std::size_t>(old_shards);
    m.assign(x.layout.shard, 0.0f);
    v.assign(x.layout.shard, 0.0f);
    std::fill(x.params.begin(), x.params.end(), 0.0f);
    // This rank's real elements [lo, hi) come from old shards j covering them; padding stays zero.
    const std::size_t lo = std::min(x.layout.begin, size), hi = std::min(x.layout.begin + x.layout.shard, size);
    for (std::size_t e = lo; e < hi;) {
      const int j = static_cast<int>(e / old_shard);
      const std::size_t end = std::min(hi, (static_cast<std::size_t>(j) + 1) * old_shard);
      const std::size_t off = e - static_cast<std::size_t>(j) * old_shard, n = end - e, dst = e - x.layout.begin;
      file(j).read(tensor_name(u, "param"), off, std::span<float>(x.params).subspan(dst, n));
      file(j).read(tensor_name(u, "exp_avg"), off, std::span<float>(m).subspan(dst, n));
      file(j).read(tensor_name(u, "exp_avg_sq"), off, std::span<float>(v).subspan(dst, n));
      e = end;
    }
    x.opt->restore(m, v, checkpoint.meta.at("optimizer_steps").get<std::int64_t>());
  }
}

void FsdpEngine::export_safetensors(const std::string& path) {
  const std::vector<float> full = full_params();
  std::string error;
  if (world_.rank() == 0) {
    try {
      std::size_t at = 0;
      auto& mu = model_.units();
      for (std::size_t u = 0; u < mu.size(); ++u) {
        const std::size_t n = units_[u].layout.size;
        mu[u].params.assign(full.begin() + static_cast<std::ptrdiff_t>(at),
                            full.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
      }
      nn::save_safetensors(model_, path, {{"producer", "awsdt-fsdp"}});
    } catch (const std::exception& e) {
      error = e.what();
    }
    for (auto& pu : model_.units()) pu.params = {};
  }
  if (!all_ok(world_, error.empty(), stream_))
    throw UsageError(error.empty() ? "export: rank 0 could not write " + path : error);
}

}  // namespace awsdt::fsdp
