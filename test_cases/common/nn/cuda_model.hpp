// CudaModel: the Llama decoder of nn::Model on one CUDA GPU, in mixed precision as llm.c and PyTorch AMP train:
// bf16 weights and activations for compute (cuBLASLt GEMMs, attention on tensor cores in chunks of query rows
// or flash-style), fp32 master weights,
// gradients and AdamW state. Parameters keep nn::Model's units (one contiguous buffer each, same layout), so
// weights move between the CPU engine, safetensors files and the GPU unit by unit. CUDA types never appear
// here; only builds with CUDA compile it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "device/device.hpp"
#include "nn/attention_kernel.hpp"
#include "nn/config.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"

namespace awsdt {
class Communicator;
}

namespace awsdt::nn {

/// One tensor-parallel rank's share of the model as Megatron-LM splits it (train/tp_layout.hpp computes it): the
/// query and key/value heads, MLP width and vocabulary rows this rank holds, and its units' layouts. Without
/// sequence parallelism the row-parallel outputs (o_proj, down_proj, the embedding) and the column-parallel input
/// gradients are all-reduced; with it the residual stream and the norms live on sequence shards, norm outputs are
/// all-gathered before the column-parallel GEMMs and row-parallel outputs reduce-scattered after them (the
/// backward runs the duals, and the norm weights' gradients are all-reduced). The LM head and the cross-entropy
/// are vocab-parallel: no rank holds the full logits. Every collective runs on the model's stream, in bf16 for
/// activations and fp32 for the cross-entropy's per-token values and the norm weights' gradients.
struct CudaTensorParallel {
  Communicator* group = nullptr;    ///< the TP group (size > 1), on the model's GPU (NCCL)
  bool sequence_parallel = false;   ///< Megatron's --sequence-parallel
  int heads = 0, kv_heads = 0;      ///< query and key/value heads here
  int kv_first = 0;                 ///< the first (global) key/value head here
  bool kv_replicated = false;       ///< one key/value head per rank, held by several (TP > key/value heads)
  int ffn = 0;                      ///< MLP width here
  int vocab = 0, vocab_first = 0;   ///< vocabulary rows [vocab_first, vocab_first + vocab)
  std::vector<UnitLayout> layouts;  ///< the local units: the whole model's tensor names and order, local shapes
};

/// A Llama-family decoder training on CUDA device `device` (one stream; every call is ordered on it).
class CudaModel {
 public:
  /// Allocates parameters, gradients and optimizer state on the GPU and copies the parameters of `init` (a CPU
  /// model of the same config: its seeded initialisation or loaded weights), so both start bit-identical.
  CudaModel(const Model& init, int device);
  /// Shape only: activations but no parameters, gradients or optimizer state; bind() every unit before
  /// running it (a sharded trainer owns those buffers).
  CudaModel(const ModelConfig& config, int device);
  /// Shape only, on one tensor-parallel rank's slices of every unit (bind() each local unit before running it).
  CudaModel(const ModelConfig& config, int device, const CudaTensorParallel& tp);
  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  /// The model's shape.
  const ModelConfig& config() const;
  /// Runs tokens[B·T] (host) through the model; with targets (host, < 0 ignored) returns the mean
  /// cross-entropy and prepares backward() for grad_weight · loss (1/micro-batches accumulates their mean);
  /// without targets returns 0.
  float forward(const std::int32_t* tokens, const std::int32_t* targets, int B, int T, float grad_weight = 1.0f);
  /// Adds ∂(grad_weight · loss)/∂parameters of the last forward (which had targets) to the fp32 gradients.
  void backward();

  /// Unit by unit (nn/unit_model.hpp states the contract). Only forward_head waits for the GPU.
  void forward_begin(const std::int32_t* tokens, const std::int32_t* targets, int B, int T, float grad_weight = 1.0f);
  void forward_embedding();
  void forward_block(int layer);
  float forward_head();
  void backward_head();
  void backward_block(int layer);
  void backward_embedding();
  /// Params are bf16 and grads fp32, both in device memory.
  void bind(int unit, const void* params, float* grads);
  /// Activation recomputation (off by default; nn/unit_model.hpp): activation memory no longer grows with the
  /// layers. Changing it discards the last forward.
  void set_recompute(bool on);
  bool recompute() const;
  /// Which attention kernels run: automatic (the default) is the chunked tensor-core one wherever head_dim is a
  /// multiple of 8 and the flash-style kernels elsewhere; chunked with another head_dim is an error.
  void set_attention(AttentionKernel kernel);
  /// Whether the chunked tensor-core attention runs.
  bool chunked_attention() const;
  /// Bytes of the activations and gradient scratch held for the last forward's (B, T).
  std::int64_t activation_bytes() const;
  /// Sets every gradient to zero.
  void zero_grad();
  /// Clips the gradients to global norm grad_clip (≤ 0: off) and applies one AdamW update at lr to the fp32
  /// master weights, refreshing the bf16 copies; returns the norm before clipping.
  double optimizer_step(const AdamWOptions& options, double lr, double grad_clip);
  /// Copies the fp32 master parameters (and, when `grads`, the gradients) into host units of the same layout.
  void download(std::vector<ParamUnit>& units, bool grads = false) const;
  /// Bytes of GPU memory held: parameters (fp32 + bf16), gradients, optimizer state, activations.
  std::int64_t device_bytes() const;
  /// Waits for all work enqueued so far.
  void synchronize();
  /// The stream every call is ordered on.
  Stream& stream();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace awsdt::nn
