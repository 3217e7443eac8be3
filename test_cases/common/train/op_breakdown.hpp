// Where a training step's time goes, by op class: every GEMM (linear forward and backward, LM head included)
// and every attention forward and backward of one micro-batch, timed in isolation with the model's exact shapes.
// The other layers (RMSNorm, RoPE, SwiGLU, residual adds, embedding, cross-entropy) are timed the same way; the
// engine's own forward/backward has no timers, so what a step spends beyond the three classes (zeroing scratch,
// copies, cache effects of running the layers in sequence) is the measured step minus their sum.
#pragma once

#include <nlohmann/json.hpp>

#include "nn/config.hpp"

namespace awsdt::train {

/// Time and FLOPs of one micro-batch's forward + backward, per op class.
struct OpBreakdown {
  double gemm_ms = 0;          ///< all linear layers, forward and backward
  double attention_ms = 0;     ///< causal attention, forward and backward
  double other_ms = 0;         ///< RMSNorm, RoPE, SwiGLU, residuals, embedding, cross-entropy, forward and backward
  double gemm_flops = 0;       ///< FLOPs of those GEMMs (2·M·N·K each)
  double attention_flops = 0;  ///< QKᵀ and AV matmuls (full T×T, as the count for MFU), forward and backward
};

/// Times one micro-batch [B,T] of config, the best of `repeats` runs per class.
OpBreakdown measure_op_breakdown(const nn::ModelConfig& config, int B, int T, int repeats = 3);

/// Prints the breakdown against a run's measured micro-batch (forward + backward) and optimizer times, and the
/// model's FLOP count per micro-batch; returns the same figures for the result document.
nlohmann::json report_op_breakdown(const OpBreakdown& ob, double micro_batch_ms, double optimizer_ms,
                                   double model_flops_per_micro_batch);

}  // namespace awsdt::train
