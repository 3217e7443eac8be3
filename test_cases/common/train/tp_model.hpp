// TpModel: the fp32 CPU Llama decoder split over a tensor-parallel group as Megatron-LM splits it (tp_layout.hpp),
// run one unit at a time on bound buffers (the nn::UnitModel contract). Without sequence parallelism every rank
// holds the residual stream whole: the row-parallel outputs (o_proj, down_proj, the embedding) are all-reduced,
// and so are the input gradients of the column-parallel GEMMs. With it (Megatron's --sequence-parallel) the
// residual stream, the norms and their gradients live on sequence shards (rows [r·N/tp, (r+1)·N/tp) of the
// micro-batch's N tokens): norm outputs are all-gathered before the column-parallel GEMMs and row-parallel
// outputs reduce-scattered after them, and the backward runs the duals (reduce-scatter, all-gather); the norm
// weights' gradients, partial sums over the shards, are all-reduced. The LM head is vocab-parallel and so is the
// cross-entropy: each rank computes logits for its vocabulary rows only and the softmax meets over the group
// through three values per token (max, sum of exponentials, the target's logit); no rank holds the full logits.
// q/k/v_proj and gate/up_proj run as one GEMM each (their weights are consecutive rows of the unit). With
// --tp-comm-overlap (tp_overlap.hpp) the GEMMs whose inputs or outputs cross the group overlap their collectives.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "comm/communicator.hpp"
#include "device/device.hpp"
#include "kernels/cpu/llama_rope.hpp"
#include "nn/config.hpp"
#include "nn/layout.hpp"
#include "train/tp_layout.hpp"
#include "train/tp_overlap.hpp"

namespace awsdt::train {

class TpModel {
 public:
  /// tp: this rank's tensor-parallel group (its size and rank pick the slice).
  TpModel(const nn::ModelConfig& config, Communicator& tp, bool sequence_parallel, const TpCommOverlap& overlap = {});
  ~TpModel();

  const nn::ModelConfig& config() const { return config_; }
  const TpSlice& slice() const { return slice_; }
  /// The local units (tp_unit_layouts).
  const std::vector<nn::UnitLayout>& layouts() const { return layouts_; }

  void bind(int unit, const float* params, float* grads);
  void forward_begin(const std::int32_t* tokens, const std::int32_t* targets, int B, int T);
  void forward_embedding();
  void forward_block(int layer);
  float forward_head();
  void backward_head();
  void backward_block(int layer);
  void backward_embedding();
  /// Activation recomputation (awsdt-fsdp's --recompute, Megatron's full recompute): forward_block keeps only the
  /// block's input (the residual stream) and one block's intermediates, shared by every block; backward_block
  /// re-runs the block's forward up to down_proj, with its TP collectives, before its backward. Changing it
  /// discards the last forward.
  void set_recompute(bool on);
  bool recompute() const { return recompute_; }
  std::int64_t activation_bytes() const;
  /// Milliseconds of exposed TP communication since the last call: the blocking collectives' whole time, and what
  /// the overlapped GEMMs did not hide.
  double take_comm_ms();

 private:
  struct Acts;
  struct Layer;
  const float* P(int unit) const { return bound_[static_cast<std::size_t>(unit)].params; }
  float* G(int unit) { return bound_[static_cast<std::size_t>(unit)].grads; }
  int head_unit() const { return config_.n_layers + 1; }
  // Collectives on the TP group, blocking (the compute waits for each).
  void all_reduce(float* x, std::size_t n, ReduceOp op = ReduceOp::sum);
  /// SP: out[N,C] = all-gather of shard[Ns,C]; without SP returns shard itself.
  const float* gather_rows(const float* shard, float* out);
  /// SP: shard[Ns,C] = reduce-scatter of partial[N,C]; without SP all-reduces partial into shard.
  void reduce_rows(float* partial, float* shard);
  /// g (C values) computed on a sequence shard: all-reduced over the group with SP, then added into grad.
  void add_norm_grad(float* grad, float* g);
  void add_kv_grads(float* gk, float* gv, float* Gk, float* Gv);
  // The GEMMs whose input or output crosses the group, blocking or overlapped (TpOverlap). N rows, C = dim.
  /// out[N, n] = gathered(shard) · Wᵀ, W [n, C] (column-parallel); SP keeps the gathered input in keep [N, C].
  void column_forward(const float* shard, float* keep, const float* w, int n, float* out);
  /// shard = reduced(in[N, k] · Wᵀ), W [C, k] (row-parallel; shard as reduce_rows leaves it).
  void row_forward(const float* in, const float* w, int k, float* shard);
  /// din[N, k] = gathered(dshard) · W, W [C, k] (row-parallel input gradient); returns the gathered gradient.
  const float* row_backward(const float* dshard, const float* w, int k, float* din);
  /// dshard = reduced(d[N, n] · W), W [n, C] (column-parallel input gradient).
  void column_backward(const float* d, const float* w, int n, float* dshard);
  /// dW[OC, IC] += dout[N, OC]ᵀ · inp[N, IC].
  void weight_grad(float* dw, const float* dout, const float* inp, int IC, int OC) const;
  /// Block l's kept intermediates (the one shared set with recomputation).
  Layer& layer_acts(int l);
  /// Block l's forward up to what its backward reads: everything but down_proj and the last residual add.
  void block_forward_saved(int l);

  nn::ModelConfig config_;
  Communicator& tp_;
  bool sp_;
  TpSlice slice_;
  std::vector<nn::UnitLayout> layouts_;
  nn::BlockOffsets bo_{};
  std::size_t final_norm_ = 0, lm_head_ = 0;
  struct Bound {
    const float* params = nullptr;
    float* grads = nullptr;
  };
  std::vector<Bound> bound_;
  Stream stream_;
  std::unique_ptr<TpOverlap> overlap_;  // --tp-comm-overlap
  double comm_ms_ = 0;
  int B_ = 0, T_ = 0, N_ = 0, Ns_ = 0;
  bool have_targets_ = false;
  bool recompute_ = false;
  std::vector<std::int32_t> tokens_, targets_;
  std::vector<float> residual_;  // [(L+1), Ns, C]
  std::vector<Layer> layers_;
  std::vector<float> lnfs_, rstdf_, lnf_, logits_, row_max_, row_sum_;  // head
  std::vector<float> partial_, full_, dres_, dln_, dfull_, dq_, dk_, dv_, datty_, dgate_, dup_, dh_, ng_, kvbuf_;
  std::vector<float> qkv_, gu_, dqkv_, dgu_;  // the fused GEMMs' [N, Q+2KV] and [N, 2F]
  kernels::cpu::RopeTable<float> rope_;
};

}  // namespace awsdt::train
