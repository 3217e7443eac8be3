// UnitModel: what a model must offer to be trained one unit at a time (a sharded trainer gathers one unit's
// parameters, runs it, reduces its gradients, and moves on). nn::Model (CPU, fp32) and nn::CudaModel (GPU,
// bf16) both are; generic code (fsdp's UnitBackend) is written against this concept, not either class.
//
// Units, in order: 0 the embedding, 1..L the transformer blocks, L + 1 the head (final norm, LM head, loss).
//   forward_begin(tokens, targets, B, T)  validates the shape, stores the micro-batch (host memory), computes
//                                         nothing
//   forward_embedding(), forward_block(0..L-1), forward_head()
//                                         equal one forward(); forward_head returns the mean loss and needs the
//                                         embedding too when embeddings are tied
//   backward_head(), backward_block(L-1..0), backward_embedding()
//                                         add ∂loss/∂params of the last forward into the units' gradients
//   bind(unit, params, grads)             runs that unit on external buffers of its layout (a trainer's gathered
//                                         parameters, in the model's compute dtype, and fp32 gradients)
//   set_recompute(on)                     activation recomputation: backward_block(l) re-runs block l's forward
//                                         from its input; loss and gradients are bit-identical either way
#pragma once

#include <concepts>
#include <cstdint>

#include "nn/config.hpp"

namespace awsdt::nn {

template <class M>
concept UnitModel = requires(M& m, const M& cm, int unit, const std::int32_t* tokens, float* grads, bool on) {
  { cm.config() } -> std::same_as<const ModelConfig&>;
  m.forward_begin(tokens, tokens, unit, unit);
  m.forward_embedding();
  m.forward_block(unit);
  { m.forward_head() } -> std::convertible_to<double>;
  m.backward_head();
  m.backward_block(unit);
  m.backward_embedding();
  m.bind(unit, nullptr, grads);
  m.set_recompute(on);
  { cm.recompute() } -> std::same_as<bool>;
  { cm.activation_bytes() } -> std::convertible_to<std::int64_t>;
};

}  // namespace awsdt::nn
