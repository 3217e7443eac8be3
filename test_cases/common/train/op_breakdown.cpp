// Isolated timing of the GEMMs and attention of one micro-batch.
#include "train/op_breakdown.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "kernels/cpu/llama_attention.hpp"
#include "kernels/cpu/llama_cross_entropy.hpp"
#include "kernels/cpu/llama_embedding.hpp"
#include "kernels/cpu/llama_linear.hpp"
#include "kernels/cpu/llama_residual.hpp"
#include "kernels/cpu/llama_rmsnorm.hpp"
#include "kernels/cpu/llama_rope.hpp"
#include "kernels/cpu/llama_swiglu.hpp"
#include "nn/rope.hpp"

namespace awsdt::train {
namespace {

struct LinearShape {
  int in, out;
};

template <typename F>
double best_ms(int repeats, F&& f) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void fill(std::vector<float>& v, float s) {
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = s * static_cast<float>(static_cast<int>(i * 7 % 17) - 8);
}

}  // namespace

OpBreakdown measure_op_breakdown(const nn::ModelConfig& c, int B, int T, int repeats) {
  using namespace kernels::cpu;
  const int N = B * T, C = c.dim, KV = c.kv_dim(), F = c.ffn_dim, V = c.vocab_size;
  // One block's linears in forward order, then the LM head once.
  const std::vector<LinearShape> block{{C, C}, {C, KV}, {C, KV}, {C, C}, {C, F}, {C, F}, {F, C}};
  OpBreakdown r;
  const int maxw = std::max({C, F, V});
  std::vector<float> x(static_cast<std::size_t>(N) * maxw), y(x.size()), dx(x.size()), dy(x.size());
  std::vector<float> w(static_cast<std::size_t>(maxw) * std::max(C, F)), dw(w.size());
  fill(x, 0.01f);
  fill(dy, 0.001f);
  fill(w, 0.02f);
  auto linear_pass = [&](const LinearShape& s) {
    linear_forward(y.data(), x.data(), w.data(), N, s.in, s.out);
    linear_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), N, s.in, s.out);
  };
  r.gemm_ms = best_ms(repeats, [&] {
    for (int l = 0; l < c.n_layers; ++l)
      for (const auto& s : block) linear_pass(s);
    linear_pass({C, V});
  });
  for (const auto& s : block) r.gemm_flops += 6.0 * N * s.in * static_cast<double>(s.out);
  r.gemm_flops = r.gemm_flops * c.n_layers + 6.0 * N * C * static_cast<double>(V);

  AttentionShape a{B, T, c.n_heads, c.n_kv_heads, c.head_dim()};
  std::vector<float> q(static_cast<std::size_t>(N) * C), k(static_cast<std::size_t>(N) * KV), v(k.size());
  std::vector<float> out(q.size()), dout(q.size()), dq(q.size()), dk(k.size()), dv(k.size());
  std::vector<float> att(static_cast<std::size_t>(B) * c.n_heads * T * T);
  fill(q, 0.01f);
  fill(k, 0.01f);
  fill(v, 0.01f);
  fill(dout, 0.001f);
  r.attention_ms = best_ms(repeats, [&] {
    for (int l = 0; l < c.n_layers; ++l) {
      attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), a);
      attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), att.data(), a);
    }
  });
  r.attention_flops = 12.0 * c.n_layers * static_cast<double>(B) * T * T * C;

  // The other layers, on the buffers above (x/dx/y/dy are [N, max(C, F, V)], w/dw hold a norm weight).
  const std::size_t NC = static_cast<std::size_t>(N) * C, NF = static_cast<std::size_t>(N) * F;
  std::vector<float> rstd(static_cast<std::size_t>(N));
  std::vector<float> table(static_cast<std::size_t>(V) * C), dtable(table.size());
  fill(table, 0.01f);
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(N));
  for (int i = 0; i < N; ++i) tokens[i] = static_cast<std::int32_t>((i * 131) % V);
  const auto rope = nn::model_rope_table(c, T);
  r.other_ms = best_ms(repeats, [&] {
    embedding_forward(y.data(), tokens.data(), table.data(), N, C, V);
    for (int l = 0; l < c.n_layers; ++l) {
      for (int i = 0; i < 2; ++i) {
        rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, c.norm_eps);
        residual_forward(y.data(), x.data(), dy.data(), NC);
      }
      rope_forward(q.data(), rope, B, T, c.n_heads, c.head_dim());
      rope_forward(k.data(), rope, B, T, c.n_kv_heads, c.head_dim());
      swiglu_forward(y.data(), x.data(), dy.data(), NF);
    }
    rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, c.norm_eps);
    cross_entropy_forward(y.data(), x.data(), tokens.data(), N, V);
    cross_entropy_backward(dx.data(), y.data(), tokens.data(), N, V, 1.0f, InputGrad::overwrite);  // as the model
    rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    for (int l = 0; l < c.n_layers; ++l) {
      swiglu_backward(dx.data(), y.data(), dy.data(), x.data(), x.data(), NF, InputGrad::overwrite);
      rope_backward(dq.data(), rope, B, T, c.n_heads, c.head_dim());
      rope_backward(dk.data(), rope, B, T, c.n_kv_heads, c.head_dim());
      for (int i = 0; i < 2; ++i)
        rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    }
    embedding_backward(dtable.data(), tokens.data(), dy.data(), N, C);
  });
  return r;
}

nlohmann::json report_op_breakdown(const OpBreakdown& ob, double micro_ms, double optimizer_ms, double model_flops) {
  const double rest = micro_ms - ob.gemm_ms - ob.attention_ms - ob.other_ms;
  const double matmul_flops = ob.gemm_flops + ob.attention_flops;
  std::printf(
      "op breakdown (one micro-batch fwd+bwd, median %.1f ms; GEMM and attention timed alone on the same "
      "shapes):\n",
      micro_ms);
  std::printf("  gemm       %8.1f ms  %5.1f%%  %.2f GFLOP/s\n", ob.gemm_ms, 100 * ob.gemm_ms / micro_ms,
              ob.gemm_flops / ob.gemm_ms / 1e6);
  std::printf("  attention  %8.1f ms  %5.1f%%  %.2f GFLOP/s\n", ob.attention_ms, 100 * ob.attention_ms / micro_ms,
              ob.attention_flops / ob.attention_ms / 1e6);
  std::printf("  other      %8.1f ms  %5.1f%%  (RMSNorm, RoPE, SwiGLU, residuals, embedding, cross-entropy)\n",
              ob.other_ms, 100 * ob.other_ms / micro_ms);
  std::printf("  unaccounted %7.1f ms  %5.1f%%  (step minus the isolated classes: scratch zeroing, copies, noise)\n",
              rest, 100 * rest / micro_ms);
  std::printf("  optimizer  %8.1f ms  per step (clip + AdamW)\n", optimizer_ms);
  std::printf(
      "  matmul FLOPs per micro-batch %.4e (model count %.4e: its 6·N "
      "also counts the RMSNorm weights): %.2f GFLOP/s executed\n",
      matmul_flops, model_flops, matmul_flops / micro_ms / 1e6);
  return {{"micro_batch_ms", micro_ms},      {"gemm_ms", ob.gemm_ms},
          {"attention_ms", ob.attention_ms}, {"other_ms", ob.other_ms},
          {"unaccounted_ms", rest},          {"optimizer_ms", optimizer_ms},
          {"gemm_flops", ob.gemm_flops},     {"attention_flops", ob.attention_flops}};
}

}  // namespace awsdt::train
