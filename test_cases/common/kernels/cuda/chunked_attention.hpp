// Causal grouped-query attention on CUDA through tensor cores: chunks of query rows whose scores against the
// keys they may see are one batched cuBLAS GEMM (bf16 in, fp32 out), then a softmax pass, then another GEMM for
// P·V; the backward recomputes the chunk's probabilities from the forward's log-sum-exp. Memory is a workspace of
// about 512 MiB of scores (the chunk shrinks as T grows, down to 64 rows) plus fp32 dK and dV accumulators
// (8·B·T·NH·head_dim bytes), never B·NH·T² (chunked_attention_plan.hpp
// has the schedule). The flash-style kernels (llama_attention.hpp) do the same math on the CUDA cores; this is
// the fast path wherever head_dim is a multiple of 8 (cuBLAS's tensor-core alignment). Same conventions,
// arguments and outputs as llama_attention.hpp.
#pragma once

#include <cstddef>

#include "kernels/cuda/chunked_attention_plan.hpp"
#include "kernels/cuda/llama_layers.hpp"

namespace awsdt::kernels::cuda {

/// Scores and probabilities of one chunk take at most this much (the chunk is at least 64 rows).
/// 512 MiB: the diagonal chunk's masked half costs rows/2 per row, so smaller chunks waste less (llama3_2_1b at
/// B=4, T=2048: 320-row chunks, 1.15x the causal minimum of scores; 1 GiB gave 640 rows, 1.3x) and take less
/// memory, at more launches.
inline constexpr std::size_t kChunkedAttentionBudget = std::size_t(512) << 20;

/// Whether the chunked kernels take shape s: head_dim a multiple of 8, so that every operand's rows and heads
/// start 16-byte aligned, as cuBLAS's tensor-core kernels need.
inline bool chunked_attention_supports(const chunked::AttentionShape& s) { return s.head_dim % 8 == 0; }

/// Where each part of the workspace starts (bytes), and its size.
struct ChunkedAttentionLayout {
  int rows = 0;  ///< query rows per chunk
  std::size_t pointers = 0, scores = 0, probs = 0, dk32 = 0, dv32 = 0, bytes = 0;
};

/// `budget`: bytes of scores and probabilities one chunk may take (tests pass small ones to get many chunks).
inline ChunkedAttentionLayout chunked_attention_layout(const chunked::AttentionShape& s,
                                                       std::size_t budget = kChunkedAttentionBudget) {
  auto align = [](std::size_t x) { return (x + 255) / 256 * 256; };
  ChunkedAttentionLayout l;
  l.rows = chunked::chunk_rows(s, budget);
  const std::size_t bh = std::size_t(s.B) * s.n_heads;
  const std::size_t score_count = bh * std::size_t(l.rows) * chunked::score_ld(s);
  const std::size_t per_head = std::size_t(s.B) * s.T * s.n_heads * s.head_dim;
  l.pointers = 0;
  l.scores = align(3 * bh * sizeof(void*));
  l.probs = l.scores + align(score_count * 4);
  l.dk32 = l.probs + align(score_count * 2);
  l.dv32 = l.dk32 + align(per_head * 4);
  l.bytes = l.dv32 + align(per_head * 4);
  return l;
}

/// out, lse as attention_forward; `workspace` holds chunked_attention_layout(s, budget).bytes of device memory.
void chunked_attention_forward(Bf16* out, float* lse, const Bf16* q, const Bf16* k, const Bf16* v,
                               const chunked::AttentionShape& s, void* workspace, void* stream,
                               std::size_t budget = kChunkedAttentionBudget);
/// dq, dk, dv (written) as attention_backward, with the same scratch (B·NH·T floats) and the workspace.
void chunked_attention_backward(Bf16* dq, Bf16* dk, Bf16* dv, const Bf16* dout, const Bf16* out, const Bf16* q,
                                const Bf16* k, const Bf16* v, const float* lse, float* scratch,
                                const chunked::AttentionShape& s, void* workspace, void* stream,
                                std::size_t budget = kChunkedAttentionBudget);

}  // namespace awsdt::kernels::cuda
