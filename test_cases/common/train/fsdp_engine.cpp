// FsdpEngine: per-unit gather / compute / reduce-scatter, the sharded optimizer step, and the comm schedule.
#include "train/fsdp_engine.hpp"
#include "train/fsdp_engine_parts.hpp"

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "comm/host_values.hpp"
#include "nn/model.hpp"
#include "nn/safetensors.hpp"
#include "util/error.hpp"

namespace awsdt::train {

using Clock = std::chrono::steady_clock;

FsdpEngine::FsdpEngine(std::unique_ptr<UnitBackend> backend, std::uint64_t seed, EngineOptions options,
                       Communicator& world, Communicator* shard, Communicator* replicate)
    : backend_(std::move(backend)),
      options_(std::move(options)),
      world_(world),
      shard_(shard),
      replicate_(replicate),
      stream_(backend_->device()) {
  AWSDT_CHECK(options_.grad_accum >= 1, "FsdpEngine: grad_accum must be >= 1");
  // One rank moves only host values (loss, norms, flags), which a communicator stages itself, so a CPU run may
  // use a GPU's communicator: on a GPU machine without MPI that is the only one there is (the CUDA engine's
  // gpu test runs its CPU reference this way).
  if (world.size() > 1 && world.device() != backend_->device())
    throw UsageError("the communicator is on " + world.device().str() + " and the model on " +
                     backend_->device().str() + ": with --device cpu use --backend mpi");
  shard_size_ = shard ? shard->size() : 1;
  shard_rank_ = shard ? shard->rank() : 0;
  replicas_ = replicate ? replicate->size() : 1;
  Communicator* mp = backend_->model_parallel();
  mp_size_ = mp ? mp->size() : 1;
  mp_rank_ = mp ? mp->rank() : 0;
  AWSDT_CHECK(shard_size_ * replicas_ * mp_size_ == world.size(),
              "FsdpEngine: shard x replica x model-parallel groups must cover the world");
  for (DataType t : {options_.param_dtype, options_.reduce_dtype})
    AWSDT_CHECK(t == DataType::f32 || t == DataType::bf16, "FsdpEngine: param and reduce dtypes are f32 or bf16");
  const nn::ModelConfig& config = backend_->config();
  tied_ = config.tied_embeddings;
  // Initial weights one unit at a time (a seeded unit depends only on its index), so no rank ever holds the
  // whole model; a Hugging Face file is loaded whole, once.
  std::unique_ptr<nn::Model> loaded;
  if (!options_.init_from.empty()) {
    loaded = std::make_unique<nn::Model>(config, seed);
    nn::load_safetensors(*loaded, options_.init_from);
  }
  const std::vector<nn::UnitLayout>& layouts = backend_->layouts();
  const int U = static_cast<int>(layouts.size());
  const bool keep_all = options_.mode == ShardingMode::grad_op;
  // Slots: full/hybrid alternate two buffers (consecutive units never share one); grad_op keeps one per unit;
  // the tied embedding has its own (the head needs it too). Units that compute on the shard itself (unsharded
  // fp32 on a fp32 device) need none.
  param_slots_.resize(static_cast<std::size_t>(!gathers() ? 0 : keep_all ? U : 3));
  grad_slots_.resize(grads_in_place() ? 0 : 3);
  units_.resize(static_cast<std::size_t>(U));
  std::vector<float> full, sliced, mine;
  for (int u = 0; u < U; ++u) {
    const nn::UnitLayout& layout = layouts[static_cast<std::size_t>(u)];
    Unit& x = units_[static_cast<std::size_t>(u)];
    x.layout = shard_unit(layout.size, shard_size_, shard_rank_);
    x.segments = nn::decay_segments(layout, x.layout.begin, x.layout.begin + x.layout.shard);
    const std::size_t bytes = x.layout.shard * sizeof(float);
    x.params = alloc(bytes);
    x.grads = alloc(bytes);
    x.m = alloc(bytes);
    x.v = alloc(bytes);
    // The whole unit is drawn (or loaded) and this rank keeps its slice, so that a tensor-parallel run starts
    // from exactly the weights of one that is not.
    const float* whole = loaded ? loaded->units()[static_cast<std::size_t>(u)].params.data() : nullptr;
    if (!whole) {
      const nn::UnitLayout& full_layout = backend_->full_layouts()[static_cast<std::size_t>(u)];
      full.resize(full_layout.size);
      nn::initial_params(full_layout, u, seed, full.data());
      whole = full.data();
    }
    sliced.resize(layout.size);
    backend_->slice_unit(u, whole, sliced.data());
    const float* init = sliced.data();
    const std::size_t lo = std::min(x.layout.begin, x.layout.size);
    const std::size_t hi = std::min(x.layout.begin + x.layout.shard, x.layout.size);
    mine.assign(x.layout.shard, 0.0f);  // padding stays zero
    std::copy(init + lo, init + hi, mine.begin());
    upload(x.params, mine);
    for (Buffer* b : {&x.grads, &x.m, &x.v}) memset_async(b->data(), 0, bytes, stream_);
    const bool own = tied_ && u == 0;
    x.grad_slot = own ? 2 : u % 2;
    if (gathers()) x.param_slot = keep_all ? u : own ? 2 : u % 2;
  }
  // Slot buffers, sized for the largest unit that uses each. Gathered params travel as param_dtype and are
  // computed on in the backend's dtype; a separate wire buffer exists only when those differ (and something
  // travels or is rounded); gradients travel as reduce_dtype.
  const DataType compute = backend_->compute_dtype();
  const bool param_wire = options_.param_dtype != compute && (sharded() || options_.param_dtype != DataType::f32);
  std::vector<std::size_t> param_elems(param_slots_.size(), 0), grad_elems(grad_slots_.size(), 0);
  for (const Unit& x : units_) {
    if (x.param_slot >= 0) {
      std::size_t& e = param_elems[static_cast<std::size_t>(x.param_slot)];
      e = std::max(e, x.layout.padded);
    }
    if (grads_in_place()) continue;
    std::size_t& e = grad_elems[static_cast<std::size_t>(x.grad_slot)];
    e = std::max(e, x.layout.padded);
  }
  for (std::size_t i = 0; i < param_slots_.size(); ++i) {
    Slot& s = param_slots_[i];
    s.ready = Event(backend_->device());
    s.buf = alloc(param_elems[i] * dtype_size(compute));
    if (param_wire) s.wire = alloc(param_elems[i] * dtype_size(options_.param_dtype));
  }
  for (std::size_t i = 0; i < grad_slots_.size(); ++i) {
    Slot& s = grad_slots_[i];
    s.ready = Event(backend_->device());
    s.buf = alloc(grad_elems[i] * sizeof(float));
    if (options_.reduce_dtype == DataType::bf16) s.wire = alloc(grad_elems[i] * dtype_size(DataType::bf16));
  }
  stream_.synchronize();
}

FsdpEngine::~FsdpEngine() {
  // Pending communication reads and writes our buffers; it must finish (or fail) before they go. When it does
  // not (unwinding from an error while a peer will never join the collective), the buffers, the stream and the
  // model are leaked on purpose, so that the error reaches guarded_main, which reports it and aborts the job.
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
    backend_.release();
  }
}

std::vector<float> FsdpEngine::download(const Buffer& b, std::size_t n) {
  std::vector<float> host(n);
  copy_async(host.data(), b.data(), n * sizeof(float), stream_);
  stream_.synchronize();
  return host;
}

void FsdpEngine::upload(Buffer& b, const std::vector<float>& host) {
  copy_async(b.data(), host.data(), host.size() * sizeof(float), stream_);
  stream_.synchronize();  // host may change once this returns
}

void FsdpEngine::wait(const Event& e) {
  const auto t0 = Clock::now();
  backend_->compute_waits_for(e);  // blocks on CPUs; on GPUs the compute stream waits, the host does not
  exposed_ms_ += ms_since(t0);
}

void FsdpEngine::issue_gather(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  if (!gathers() || x.gathered) return;
  x.gathered = true;
  if (compute_only_) return;
  Slot& s = param_slots_[static_cast<std::size_t>(x.param_slot)];
  backend_->comm_waits_for_compute(stream_);  // the unit that used this slot before has finished with it
  const DataType wire = options_.param_dtype, compute = backend_->compute_dtype();
  void* landing = s.wire.bytes() ? s.wire.data() : s.buf.data();  // where the gathered (or rounded) unit lands
  const void* full = x.params.data();                             // the whole unit in `wire` dtype, once it exists
  if (wire == DataType::f32) {
    if (sharded()) {
      shard_->all_gather(x.params.data(), landing, x.layout.shard, DataType::f32, stream_);
      full = landing;
    }
  } else {
    // Round this rank's shard into its block of the low-precision buffer, then gather in place.
    void* block = static_cast<char*>(landing) + x.layout.begin * dtype_size(wire);
    backend_->convert(block, wire, x.params.data(), DataType::f32, x.layout.shard, &stream_);
    if (sharded()) shard_->all_gather(block, landing, x.layout.shard, wire, stream_);
    full = landing;
  }
  if (full != s.buf.data()) backend_->convert(s.buf.data(), compute, full, wire, x.layout.padded, &stream_);
  s.ready.record(stream_);
  if (sharded()) gathered_bytes_ += static_cast<std::int64_t>(x.layout.padded * dtype_size(wire));
}

void FsdpEngine::wait_params(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  if (!gathers()) return;
  issue_gather(u);
  wait(param_slots_[static_cast<std::size_t>(x.param_slot)].ready);
}

void FsdpEngine::bind(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  const void* params = gathers() ? param_slots_[static_cast<std::size_t>(x.param_slot)].buf.data() : x.params.data();
  float* grads =
      grads_in_place() ? x.grads.as<float>() : grad_slots_[static_cast<std::size_t>(x.grad_slot)].buf.as<float>();
  backend_->bind(u, params, grads);
}

void FsdpEngine::begin_grads(int u) {
  if (grads_in_place()) return;  // the shard was zeroed at the start of the step and accumulates the micro-batches
  Unit& x = units_[static_cast<std::size_t>(u)];
  Slot& g = grad_slots_[static_cast<std::size_t>(x.grad_slot)];
  wait(g.ready);  // the slot's previous reduce-scatter has consumed it
  backend_->zero(g.buf.data(), x.layout.padded * sizeof(float), nullptr);
}

void FsdpEngine::issue_reduce(int u) {
  Unit& x = units_[static_cast<std::size_t>(u)];
  if (compute_only_ || grads_in_place()) return;
  Slot& g = grad_slots_[static_cast<std::size_t>(x.grad_slot)];
  const DataType t = options_.reduce_dtype;
  const bool low = t == DataType::bf16;
  float* acc = x.grads.as<float>();
  backend_->comm_waits_for_compute(stream_);  // the unit's backward has written its gradients
  if (low) backend_->convert(g.wire.data(), t, g.buf.data(), DataType::f32, x.layout.padded, &stream_);
  // This rank's block of the full buffer (the whole buffer when unsharded). The step's first micro-batch lands
  // fp32 results straight in the gradient shard; otherwise they stay in that block and are added (or, first,
  // converted) into the shard.
  void* full = low ? g.wire.data() : g.buf.data();
  void* mine = static_cast<char*>(full) + x.layout.begin * dtype_size(t);
  void* out = first_micro_batch_ && !low ? static_cast<void*>(acc) : mine;
  void* reduced = mine;  // where this rank's reduced block is so far
  if (sharded()) {
    shard_->reduce_scatter(full, out, x.layout.shard, t, ReduceOp::sum, stream_);
    scattered_bytes_ += static_cast<std::int64_t>(x.layout.padded * dtype_size(t));
    reduced = out;
  }
  if (replicas_ > 1) {
    replicate_->all_reduce(reduced, out, x.layout.shard, t, ReduceOp::sum, stream_);
    reduced_bytes_ += static_cast<std::int64_t>(x.layout.shard * dtype_size(t));
    reduced = out;
  }
  if (reduced == acc) {
    // landed in place
  } else if (first_micro_batch_) {
    backend_->convert(acc, DataType::f32, reduced, t, x.layout.shard, &stream_);
  } else {
    backend_->accumulate(acc, reduced, t, x.layout.shard, &stream_);
  }
  g.ready.record(stream_);
  if (!options_.overlap) wait(g.ready);
}

void FsdpEngine::forward_micro_batch(const nn::TokenBatch& batch, double& loss) {
  const int U = static_cast<int>(units_.size());
  // Every mode but grad_op drops the gathered unit after its forward: full and hybrid to free it, none because
  // its three slots are shared (unsharded, a "gather" is the conversion to the compute dtype: cheap to redo, and
  // one copy per unit would cost a third of the fp32 model's memory again).
  const bool reshard = options_.mode != ShardingMode::grad_op;
  backend_->forward_begin(batch);
  if (options_.overlap) issue_gather(0);
  for (int u = 0; u < U; ++u) {
    wait_params(u);
    if (options_.overlap && u + 1 < U) issue_gather(u + 1);  // prefetch while this unit computes
    const bool head = u == U - 1;
    if (head && tied_ && u != 0) wait_params(0);
    bind(u);
    if (head && tied_) bind(0);
    loss += backend_->forward_unit(u);
    // Reshard after forward, except the head (backward starts with it), the last block (whose backward comes
    // next, so torchtitan keeps it too; its slot is not the head's) and the tied embedding (the head uses it).
    const bool backward_next = head || u == U - 2;
    if (reshard && !backward_next && !(tied_ && u == 0)) units_[static_cast<std::size_t>(u)].gathered = false;
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
    bind(u);
    if (head && tied_) bind(0);
    backend_->backward_unit(u);
    issue_reduce(u);  // overlaps the next unit's backward
    // Units 1 and 0, the backward's last, are the next forward's first: when another micro-batch of this step
    // follows (the parameters change only at the optimizer), they stay gathered in their slots rather than be
    // gathered again at the boundary, where no compute would hide it.
    if (last_micro_batch_ || u > 1) units_[static_cast<std::size_t>(u)].gathered = false;
  }
}

FsdpStepStats FsdpEngine::step(nn::TokenSource& data, int step) {
  FsdpStepStats out;
  StepStats& s = out.base;
  exposed_ms_ = 0;
  gathered_bytes_ = scattered_bytes_ = reduced_bytes_ = 0;
  const double comm_cpu0 = stream_.cpu_time_ms();
  const auto t0 = Clock::now();
  // Gradients the backward adds into in place start from zero; reduced ones are overwritten by the first
  // micro-batch's.
  if (grads_in_place())
    for (Unit& x : units_) backend_->zero(x.grads.data(), x.grads.bytes(), nullptr);
  grad_scale_ = 1.0f / static_cast<float>(static_cast<double>(data_parallel()) * options_.grad_accum);
  double loss = 0, data_ms = 0;
  for (int i = 0; i < options_.grad_accum; ++i) {
    first_micro_batch_ = i == 0;
    last_micro_batch_ = i + 1 == options_.grad_accum;
    // Reading the batch is not compute: kept out of compute_ms, which measure_compute_only() is compared with.
    const auto td = Clock::now();
    data.next(batch_);
    data_ms += ms_since(td);
    forward_micro_batch(batch_, loss);
    if (step == options_.fail_step && i == 0 && options_.fail_hangs)
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));  // a hung rank: its peers must not wait forever
    if (step == options_.fail_step && i == 0)
      throw std::runtime_error("test hook: rank " + std::to_string(world_.rank()) + " dies in the middle of step " +
                               std::to_string(step + 1) + " (--fail-at-step)");
    backward_micro_batch();
  }
  backend_->synchronize();  // the compute issued (on GPUs, queued) so far: not a wait for communication
  {
    const auto tw = Clock::now();
    stream_.synchronize();  // the last reduce-scatters, which nothing overlaps
    exposed_ms_ += ms_since(tw);
  }
  for (Unit& x : units_) x.gathered = false;
  s.compute_ms = ms_since(t0) - data_ms;
  out.comm_cpu_ms = stream_.cpu_time_ms() - comm_cpu0;

  const auto t1 = Clock::now();
  std::vector<UnitBackend::FloatSpan> grads;
  for (int u = 0; u < static_cast<int>(units_.size()); ++u) add_norm_spans(u, grads);
  double sq = backend_->sum_of_squares(grads);
  {
    const auto tw = Clock::now();
    // Every rank of a model-parallel group computes the same loss: the world's mean is the data-parallel mean.
    loss = all_reduce_value(world_, loss / options_.grad_accum, ReduceOp::sum);
    if (sharded()) sq = all_reduce_value(*shard_, sq, ReduceOp::sum);
    if (mp_size_ > 1) sq = all_reduce_value(*backend_->model_parallel(), sq, ReduceOp::sum);
    exposed_ms_ += ms_since(tw);
  }
  s.loss = loss / world_.size();
  // The shards hold the sum over ranks and micro-batches, not yet the mean: the norm and the update scale it.
  s.grad_norm = std::sqrt(sq) * grad_scale_;
  const double coef = nn::clip_coefficient(s.grad_norm, options_.grad_clip);
  s.lr = options_.schedule.at(step);
  nn::AdamWScalars update = nn::adamw_scalars(options_.adamw, s.lr, ++adam_steps_);
  update.grad_scale = static_cast<float>(coef) * grad_scale_;
  for (Unit& x : units_) {
    float* p = x.params.as<float>();
    const float* g = x.grads.as<float>();
    for (const nn::DecaySegment& seg : x.segments)
      backend_->adamw(p + seg.offset, g + seg.offset, x.m.as<float>() + seg.offset, x.v.as<float>() + seg.offset,
                      seg.size, update, seg.decay);
  }
  backend_->synchronize();
  s.optimizer_ms = ms_since(t1);
  s.step_ms = ms_since(t0);
  out.comm_wait_ms = exposed_ms_;
  out.bytes_all_gathered = gathered_bytes_;
  out.bytes_reduce_scattered = scattered_bytes_;
  out.bytes_all_reduced = reduced_bytes_;
  out.tp_comm_ms = backend_->take_model_parallel_comm_ms();
  return out;
}

double FsdpEngine::measure_compute_only() {
  stream_.synchronize();
  backend_->synchronize();
  compute_only_ = true;
  const auto t0 = Clock::now();
  double loss = 0;
  try {
    for (int i = 0; i < options_.grad_accum; ++i) {
      forward_micro_batch(batch_, loss);
      backward_micro_batch();
    }
    backend_->synchronize();
  } catch (...) {
    compute_only_ = false;
    throw;
  }
  const double ms = ms_since(t0);
  backend_->take_model_parallel_comm_ms();  // not a step's
  compute_only_ = false;
  for (Unit& x : units_) x.gathered = false;
  exposed_ms_ = 0;
  return ms;
}

ShardMemory FsdpEngine::memory() const {
  ShardMemory m;
  // What is allocated, not what the layout says should be: a buffer sized wrongly shows here.
  const auto bytes = [](const Buffer& b) { return static_cast<std::int64_t>(b.bytes()); };
  for (const Unit& x : units_) {
    m.params += bytes(x.params);
    m.grads += bytes(x.grads);
    m.optimizer += bytes(x.m) + bytes(x.v);
  }
  for (const auto* slots : {&param_slots_, &grad_slots_})
    for (const Slot& s : *slots) m.gathered += static_cast<std::int64_t>(s.buf.bytes() + s.wire.bytes());
  return m;
}

std::vector<float> FsdpEngine::full_params() {
  // One unit at a time; only rank 0 keeps the model: on the other ranks a 70B model would be 280 GB of host
  // memory each, eight times over on a node.
  const bool keep = (!shard_ || shard_->rank() == 0) && (!replicate_ || replicate_->rank() == 0);
  std::vector<float> out;
  for (const Unit& x : units_) {
    std::vector<float> unit;
    if (sharded()) {
      Buffer tmp = alloc(x.layout.padded * sizeof(float));
      shard_->all_gather(x.params.data(), tmp.data(), x.layout.shard, DataType::f32, stream_);
      if (keep)
        unit = download(tmp, x.layout.padded);
      else
        stream_.synchronize();  // tmp is freed here
    } else if (keep) {
      unit = download(x.params, x.layout.shard);
    }
    if (keep) out.insert(out.end(), unit.begin(), unit.begin() + static_cast<std::ptrdiff_t>(x.layout.size));
  }
  return backend_->consolidate(std::move(out));
}

void FsdpEngine::add_norm_spans(int u, std::vector<UnitBackend::FloatSpan>& spans) const {
  const Unit& x = units_[static_cast<std::size_t>(u)];
  const float* g = x.grads.as<float>();
  if (mp_rank_ == 0) {  // the first model-parallel rank counts every tensor it holds
    spans.push_back({g, x.layout.shard});
    return;
  }
  // This shard's part of each tensor not counted on a lower model-parallel rank (padding is zero).
  const std::vector<nn::TensorSlot>& tensors = backend_->layouts()[static_cast<std::size_t>(u)].tensors;
  const std::size_t lo = x.layout.begin, hi = x.layout.begin + x.layout.shard;
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const std::size_t a = std::max(lo, tensors[t].offset), b = std::min(hi, tensors[t].offset + tensors[t].size());
    if (a < b && !backend_->counted_elsewhere(u, t)) spans.push_back({g + (a - lo), b - a});
  }
}

}  // namespace awsdt::train
