// UnitBackend: what the sharded engine (FsdpEngine) needs from one device, so that one engine, one comm
// schedule and one checkpoint format serve CPUs (fp32 nn::Model over MPI) and GPUs (bf16 nn::CudaModel over
// NCCL). The engine owns every parameter, gradient and optimizer buffer (shards and gathered units, all in
// memory_kind()) and the communication stream; the backend runs the model one unit at a time on the buffers
// the engine binds, and does the element-wise work on them.
//
// Compute is ordered on the backend's compute side: on CPUs the calling thread (a call returns when its work is
// done), on GPUs the model's stream (a call only enqueues). Element-wise calls take the Stream to run on, or
// nullptr for the compute side; the two ordering calls connect the compute side and a communication stream.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "comm/dtype.hpp"
#include "device/device.hpp"
#include "nn/config.hpp"
#include "nn/data.hpp"
#include "nn/layout.hpp"
#include "nn/optimizer.hpp"
#include "nn/unit_model.hpp"

namespace awsdt::train {

class UnitBackend {
 public:
  virtual ~UnitBackend() = default;

  /// Where buffers live and work runs.
  virtual const Device& device() const = 0;
  /// The memory every buffer the engine binds or passes must be in.
  MemoryKind memory_kind() const { return device().is_cuda() ? MemoryKind::Device : MemoryKind::Host; }
  /// The dtype the model computes in (params bound by bind()): f32 on CPUs, bf16 on GPUs.
  virtual DataType compute_dtype() const = 0;
  /// The model's shape.
  virtual const nn::ModelConfig& config() const = 0;
  /// Units in order: 0 = embedding, 1..n_layers = blocks, n_layers + 1 = head.
  virtual const std::vector<nn::UnitLayout>& layouts() const = 0;

  // --- The model, one unit at a time, on bound buffers.
  /// Unit `unit` computes with params (compute dtype, the unit's layout) and adds its gradients into grads (f32).
  virtual void bind(int unit, const void* params, float* grads) = 0;
  /// Stores a micro-batch (host tokens and targets) for the forward that follows.
  virtual void forward_begin(const nn::TokenBatch& batch) = 0;
  /// Runs unit `unit`'s forward; the head's returns the batch's mean loss (others 0). The head needs the
  /// embedding bound too when embeddings are tied.
  virtual double forward_unit(int unit) = 0;
  /// Adds unit `unit`'s ∂loss/∂params (the batch's mean loss) into its bound grads; units run last to first.
  virtual void backward_unit(int unit) = 0;
  /// Bytes of activations the last forward kept.
  virtual std::int64_t activation_bytes() const = 0;

  // --- Ordering between the compute side and a communication stream.
  /// Compute issued after this call starts after `e` (CPUs: blocks the calling thread until then).
  virtual void compute_waits_for(const Event& e) = 0;
  /// Work enqueued on `comm` after this call starts after all compute issued so far (CPUs: already true).
  virtual void comm_waits_for_compute(Stream& comm) = 0;
  /// Blocks until all compute issued so far is done.
  virtual void synchronize() = 0;

  // --- Element-wise work; `on` is the stream to run on, nullptr the compute side.
  /// dst[i] = src[i] converted (f32 ↔ bf16, or a copy when the types are equal).
  virtual void convert(void* dst, DataType dst_type, const void* src, DataType src_type, std::size_t n, Stream* on) = 0;
  /// acc[i] += src[i] (src f32 or bf16).
  virtual void accumulate(float* acc, const void* src, DataType src_type, std::size_t n, Stream* on) = 0;
  /// Zero bytes at dst.
  virtual void zero(void* dst, std::size_t bytes, Stream* on) = 0;
  /// A run of n floats at data (in the backend's memory).
  struct FloatSpan {
    const float* data;
    std::size_t n;
  };
  /// Σ x² over every span, in double, on the compute side; returns when known (one wait for all of them).
  virtual double sum_of_squares(const std::vector<FloatSpan>& spans) = 0;
  /// One AdamW update (nn::adamw_update's arithmetic) of n elements, on the compute side.
  virtual void adamw(float* p, const float* g, float* m, float* v, std::size_t n, const nn::AdamWScalars& s,
                     bool decay) = 0;

  // --- Model parallelism (Megatron's tensor parallelism): a backend whose units are this rank's slices of the
  // model's units. The defaults are a backend that holds whole units.
  /// The group of ranks that hold different slices of one model replica; nullptr when units are whole.
  virtual Communicator* model_parallel() const { return nullptr; }
  /// The whole model's units (initialised, loaded and exported whole); layouts() when units are not split.
  virtual const std::vector<nn::UnitLayout>& full_layouts() const { return layouts(); }
  /// This rank's slice local[layouts()[unit].size] of unit `unit`'s whole parameters full[full_layouts()[unit]].
  virtual void slice_unit(int unit, const float* full, float* local) const;
  /// Collective over model_parallel(), on ranks whose `local` (every unit's slice, unit order) is not empty (all
  /// of a group or none): the whole model's parameters in unit order on the group's first rank, empty elsewhere.
  virtual std::vector<float> consolidate(std::vector<float> local) { return local; }
  /// Whether tensor `tensor` of unit `unit` here is a copy that a lower model-parallel rank holds too (a norm
  /// weight under TP): the gradient norm counts each parameter once.
  virtual bool counted_elsewhere(int unit, std::size_t tensor) const { return false; }
  /// Milliseconds the model spent in its model-parallel collectives since the last call.
  virtual double take_model_parallel_comm_ms() { return 0; }
};

/// Unit `unit` of a unit model (nn::Model, nn::CudaModel): 0 the embedding, 1..L the blocks, L + 1 the head,
/// whose forward returns the loss.
inline void UnitBackend::slice_unit(int unit, const float* full, float* local) const {
  const std::size_t n = layouts()[static_cast<std::size_t>(unit)].size;
  std::copy(full, full + n, local);
}

template <nn::UnitModel Model>
double forward_unit_of(Model& model, int unit) {
  const int head = model.config().n_layers + 1;
  if (unit == 0) {
    model.forward_embedding();
  } else if (unit < head) {
    model.forward_block(unit - 1);
  } else {
    return model.forward_head();
  }
  return 0.0;
}

template <nn::UnitModel Model>
void backward_unit_of(Model& model, int unit) {
  const int head = model.config().n_layers + 1;
  if (unit == 0) {
    model.backward_embedding();
  } else if (unit < head) {
    model.backward_block(unit - 1);
  } else {
    model.backward_head();
  }
}

}  // namespace awsdt::train
