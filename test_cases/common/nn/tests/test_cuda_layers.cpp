// GPU tests (label gpu) of the CUDA Llama layers (kernels/cuda/llama_layers.hpp): each kernel against the CPU
// layer it mirrors (kernels/cpu/llama_*, float instantiation, or nn/optimizer) run on the same inputs, which are
// drawn already rounded to bf16 so that both sides start from identical values. Outputs are compared as llm.c
// does, |gpu − ref| ≤ tol + |ref|·eps: eps = 1/128 for bf16 outputs (the GPU's final rounding alone moves a value
// by up to |ref|/256), much tighter for fp32 ones, and exact bits where both sides do the same IEEE operations.
// Skipped with a message where no GPU is visible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "device/device.hpp"
#include "kernels/cpu/llama_cross_entropy.hpp"
#include "kernels/cpu/llama_embedding.hpp"
#include "kernels/cpu/llama_residual.hpp"
#include "kernels/cpu/llama_rmsnorm.hpp"
#include "kernels/cpu/llama_rope.hpp"
#include "kernels/cpu/llama_swiglu.hpp"
#include "kernels/cuda/llama_layers.hpp"
#include "nn/optimizer.hpp"
#include "util/half.hpp"
#include "support/gpu.hpp"

namespace awsdt {
namespace {

namespace gpu = kernels::cuda;
namespace cpu = kernels::cpu;
using gpu::Bf16;

constexpr double kBf16Eps = 1.0 / 128;

// ---- host data ----

float round_bf16(float x) { return bf16_to_float(float_to_bf16(x)); }

std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Uniform values in [lo, hi) that are exactly representable in bf16.
std::vector<float> random_bf16_values(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::vector<float> v = random_floats(n, seed, lo, hi);
  for (float& x : v) x = round_bf16(x);
  return v;
}

std::vector<Bf16> to_bf16(const std::vector<float>& v) {
  std::vector<Bf16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = float_to_bf16(v[i]);
  return out;
}

std::vector<float> to_float(const std::vector<Bf16>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_float(v[i]);
  return out;
}

// ---- device data ----

// n elements of device memory on cuda:0, filled from and read back to host vectors through `stream`.
template <class T>
class DeviceVec {
 public:
  DeviceVec(Stream& stream, std::size_t n)
      : stream_(&stream), n_(n), buf_(std::max<std::size_t>(n, 1) * sizeof(T), MemoryKind::Device, Device::cuda(0)) {}
  DeviceVec(Stream& stream, const std::vector<T>& host) : DeviceVec(stream, host.size()) { upload(host); }

  void upload(const std::vector<T>& host) {
    ASSERT_EQ(host.size(), n_);
    copy_async(buf_.data(), host.data(), n_ * sizeof(T), *stream_);
    stream_->synchronize();  // the host vector may be gone before a later synchronize
  }
  std::vector<T> download() {
    std::vector<T> host(n_);
    copy_async(host.data(), buf_.data(), n_ * sizeof(T), *stream_);
    stream_->synchronize();  // also surfaces errors of the kernels enqueued before
    return host;
  }
  T* get() { return buf_.as<T>(); }

 private:
  Stream* stream_;
  std::size_t n_;
  Buffer buf_;
};

// ---- comparisons ----

// llm.c's check: every |got − ref| ≤ tol + |ref|·eps (NaN fails); on failure, the count and the worst element.
void expect_close(const std::vector<float>& got, const std::vector<float>& ref, double tol, double eps,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  std::size_t bad = 0, worst = 0;
  double worst_ratio = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double diff = std::fabs(double(got[i]) - double(ref[i]));
    const double limit = tol + std::fabs(double(ref[i])) * eps;
    if (diff <= limit) continue;
    ++bad;
    const double ratio = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff / limit;
    if (bad == 1 || ratio > worst_ratio) worst_ratio = ratio, worst = i;
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " elements outside " << tol << " + |ref|·" << eps
                     << "; worst at " << worst << ": got " << got[worst] << ", want " << ref[worst];
}

void expect_close_bf16(const std::vector<Bf16>& got, const std::vector<float>& ref, double tol,
                       const std::string& what) {
  expect_close(to_float(got), ref, tol, kBf16Eps, what);
}

// ---- embedding ----

TEST(CudaLayers, EmbeddingForwardCopiesRowsAndBackwardAddsIntoTheTableGradient) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  void* st = s.native_handle();
  const int V = 997, C = 200, N = 61;
  std::vector<std::int32_t> tokens(N);
  std::mt19937 rng(7);
  for (auto& t : tokens) t = static_cast<std::int32_t>(rng() % V);
  tokens[0] = 0;
  tokens[1] = V - 1;
  for (int n = 2; n < 7; ++n) tokens[n] = 5;  // one row gradient gets five contributions (atomics)

  const std::vector<float> table = random_bf16_values(std::size_t(V) * C, 1, -1, 1);
  std::vector<float> ref_out(std::size_t(N) * C);
  cpu::embedding_forward<float>(ref_out.data(), tokens.data(), table.data(), N, C, V);

  DeviceVec<std::int32_t> d_tokens(s, tokens);
  DeviceVec<Bf16> d_table(s, to_bf16(table));
  DeviceVec<Bf16> d_out(s, std::size_t(N) * C);
  gpu::embedding_forward(d_out.get(), d_tokens.get(), d_table.get(), N, C, st);
  EXPECT_EQ(d_out.download(), to_bf16(ref_out));  // a copy: exact

  // Backward into a table gradient that starts non-zero: it must be added to.
  const std::vector<float> dout = random_bf16_values(std::size_t(N) * C, 2, -1, 1);
  std::vector<float> dtable = random_floats(std::size_t(V) * C, 3, -1, 1);
  DeviceVec<float> d_dtable(s, dtable);
  DeviceVec<Bf16> d_dout(s, to_bf16(dout));
  gpu::embedding_backward(d_dtable.get(), d_tokens.get(), d_dout.get(), N, C, st);
  cpu::embedding_backward<float>(dtable.data(), tokens.data(), dout.data(), N, C);
  expect_close(d_dtable.download(), dtable, 1e-6, 1e-6, "dtable");  // fp32; only the order of the adds differs
}

// ---- RMSNorm ----

// x[N,C] with each row scaled differently (rstd varies from row to row), weight in [0.5, 1.5].
struct NormInputs {
  std::vector<float> x, w;
};
NormInputs norm_inputs(int N, int C, std::uint64_t seed) {
  NormInputs in;
  in.x = random_floats(std::size_t(N) * C, seed, -1, 1);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      float& v = in.x[std::size_t(n) * C + c];
      v = round_bf16(v * (0.05f + 0.25f * float(n % 13)));
    }
  in.w = random_bf16_values(C, seed + 1, 0.5f, 1.5f);
  return in;
}

TEST(CudaLayers, RmsNormForwardMatchesCpu) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const int N = 37;
  const float eps = 1e-5f;
  for (int C : {31, 200, 4096}) {  // below a warp, not a multiple of 32, a model width
    const NormInputs in = norm_inputs(N, C, 10 + C);
    std::vector<float> ref_out(std::size_t(N) * C), ref_rstd(N);
    cpu::rmsnorm_forward<float>(ref_out.data(), ref_rstd.data(), in.x.data(), in.w.data(), N, C, eps);

    DeviceVec<Bf16> d_x(s, to_bf16(in.x)), d_w(s, to_bf16(in.w)), d_out(s, std::size_t(N) * C);
    DeviceVec<float> d_rstd(s, N);
    gpu::rmsnorm_forward(d_out.get(), d_rstd.get(), d_x.get(), d_w.get(), N, C, eps, s.native_handle());
    const std::string tag = " C=" + std::to_string(C);
    expect_close_bf16(d_out.download(), ref_out, 1e-5, "out" + tag);
    // fp32, differing only in the order of the row's sum of squares.
    expect_close(d_rstd.download(), ref_rstd, 0, 2e-5, "rstd" + tag);
  }
}

TEST(CudaLayers, RmsNormBackwardAddsToDinpAndDweight) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const int N = 300;  // several row chunks of the dweight kernel, and a partial last one
  for (int C : {31, 200, 4096}) {
    const NormInputs in = norm_inputs(N, C, 20 + C);
    std::vector<float> out(std::size_t(N) * C), rstd(N);
    cpu::rmsnorm_forward<float>(out.data(), rstd.data(), in.x.data(), in.w.data(), N, C, 1e-5);
    const std::vector<float> dout = random_bf16_values(std::size_t(N) * C, 30 + C, -1, 1);
    // Both gradients start non-zero: rmsnorm_backward adds to dinp (bf16) and to dweight (fp32).
    std::vector<float> dinp = random_bf16_values(std::size_t(N) * C, 40 + C, -1, 1);
    std::vector<float> dweight = random_floats(C, 50 + C, -1, 1);

    DeviceVec<Bf16> d_x(s, to_bf16(in.x)), d_w(s, to_bf16(in.w)), d_dout(s, to_bf16(dout)), d_dinp(s, to_bf16(dinp));
    DeviceVec<float> d_rstd(s, rstd), d_dweight(s, dweight);  // the CPU's rstd: this tests the backward alone
    gpu::rmsnorm_backward(d_dinp.get(), d_dweight.get(), d_dout.get(), d_x.get(), d_w.get(), d_rstd.get(), N, C,
                          s.native_handle());
    cpu::rmsnorm_backward<float>(dinp.data(), dweight.data(), dout.data(), in.x.data(), in.w.data(), rstd.data(), N, C);
    const std::string tag = " C=" + std::to_string(C);
    expect_close_bf16(d_dinp.download(), dinp, 1e-3, "dinp" + tag);
    // fp32 sums over 300 rows of terms ~1: only the summation order differs.
    expect_close(d_dweight.download(), dweight, 1e-4, 1e-5, "dweight" + tag);
  }
}

// ---- RoPE ----

TEST(CudaLayers, RopeForwardAndBackwardMatchCpu) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const int B = 2, T = 37, H = 3;
  for (int head_dim : {64, 128}) {
    // A table longer than T: the kernel must index it by position, [max_pos, head_dim/2] row-major.
    const cpu::RopeTable<float> table = cpu::make_rope_table<float>(64, head_dim, 500000.0);
    DeviceVec<float> d_cos(s, table.cos), d_sin(s, table.sin);
    const std::size_t n = std::size_t(B) * T * H * head_dim;
    const std::string tag = " head_dim=" + std::to_string(head_dim);

    std::vector<float> x = random_bf16_values(n, 60 + head_dim, -2, 2);
    DeviceVec<Bf16> d_x(s, to_bf16(x));
    gpu::rope_forward(d_x.get(), d_cos.get(), d_sin.get(), B, T, H, head_dim, s.native_handle());
    cpu::rope_forward<float>(x.data(), table, B, T, H, head_dim);
    expect_close_bf16(d_x.download(), x, 1e-5, "rope forward" + tag);

    std::vector<float> dx = random_bf16_values(n, 70 + head_dim, -2, 2);
    DeviceVec<Bf16> d_dx(s, to_bf16(dx));
    gpu::rope_backward(d_dx.get(), d_cos.get(), d_sin.get(), B, T, H, head_dim, s.native_handle());
    cpu::rope_backward<float>(dx.data(), table, B, T, H, head_dim);
    expect_close_bf16(d_dx.download(), dx, 1e-5, "rope backward" + tag);
  }
}

// ---- SwiGLU and residual ----

TEST(CudaLayers, SwigluForwardAndBackwardMatchCpu) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const std::size_t n = 100003;  // not a multiple of any block or vector width
  const std::vector<float> gate = random_bf16_values(n, 80, -8, 8), up = random_bf16_values(n, 81, -3, 3);
  const std::vector<float> dout = random_bf16_values(n, 82, -1, 1);
  DeviceVec<Bf16> d_gate(s, to_bf16(gate)), d_up(s, to_bf16(up)), d_dout(s, to_bf16(dout));

  std::vector<float> out(n);
  cpu::swiglu_forward<float>(out.data(), gate.data(), up.data(), n);
  DeviceVec<Bf16> d_out(s, n);
  gpu::swiglu_forward(d_out.get(), d_gate.get(), d_up.get(), n, s.native_handle());
  expect_close_bf16(d_out.download(), out, 1e-5, "swiglu out");

  // The CPU backward accumulates into zeros; the GPU one writes, so its outputs start as garbage (1000).
  std::vector<float> dgate(n, 0.0f), dup(n, 0.0f);
  cpu::swiglu_backward<float>(dgate.data(), dup.data(), dout.data(), gate.data(), up.data(), n);
  const std::vector<Bf16> garbage(n, float_to_bf16(1000.0f));
  DeviceVec<Bf16> d_dgate(s, garbage), d_dup(s, garbage);
  gpu::swiglu_backward(d_dgate.get(), d_dup.get(), d_dout.get(), d_gate.get(), d_up.get(), n, s.native_handle());
  expect_close_bf16(d_dgate.download(), dgate, 1e-5, "swiglu dgate");
  expect_close_bf16(d_dup.download(), dup, 1e-5, "swiglu dup");
}

TEST(CudaLayers, ResidualForwardMatchesCpuAlsoInPlace) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const std::size_t n = 100003;
  const std::vector<float> a = random_bf16_values(n, 90, -4, 4), b = random_bf16_values(n, 91, -4, 4);
  std::vector<float> sum(n);
  cpu::residual_forward<float>(sum.data(), a.data(), b.data(), n);
  // Both sides add in fp32 and the GPU rounds that sum to nearest even: the bits equal the rounded CPU sum.
  const std::vector<Bf16> want = to_bf16(sum);

  DeviceVec<Bf16> d_a(s, to_bf16(a)), d_b(s, to_bf16(b)), d_out(s, n);
  gpu::residual_forward(d_out.get(), d_a.get(), d_b.get(), n, s.native_handle());
  EXPECT_EQ(d_out.download(), want) << "out separate";
  gpu::residual_forward(d_a.get(), d_a.get(), d_b.get(), n, s.native_handle());
  EXPECT_EQ(d_a.download(), want) << "out = a";
  d_a.upload(to_bf16(a));
  gpu::residual_forward(d_b.get(), d_a.get(), d_b.get(), n, s.native_handle());
  EXPECT_EQ(d_b.download(), want) << "out = b";
}

// ---- casts ----

TEST(CudaLayers, CastsConvertExactlyAsHalfHpp) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  // Random values over many binades, plus the special cases of round-to-nearest-even.
  std::vector<float> f = random_floats(100003, 100, -1, 1);
  std::mt19937 rng(101);
  std::uniform_int_distribution<int> binade(-140, 127);
  for (float& x : f) x = std::ldexp(x, binade(rng));
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> special{0.0f,
                                   -0.0f,
                                   inf,
                                   -inf,
                                   std::numeric_limits<float>::quiet_NaN(),
                                   std::numeric_limits<float>::max(),  // rounds up to inf
                                   std::numeric_limits<float>::denorm_min(),
                                   std::numeric_limits<float>::min(),
                                   1.0f + std::ldexp(1.0f, -8),      // tie: down to even 1.0
                                   1.0f + 3 * std::ldexp(1.0f, -8),  // tie: up to even
                                   -(1.0f + std::ldexp(1.0f, -8)) - std::ldexp(1.0f, -20)};
  std::copy(special.begin(), special.end(), f.begin());
  std::vector<Bf16> want_bf16(f.size());
  for (std::size_t i = 0; i < f.size(); ++i) want_bf16[i] = float_to_bf16(f[i]);
  DeviceVec<float> d_f(s, f);
  DeviceVec<Bf16> d_h(s, f.size());
  gpu::cast_to_bf16(d_h.get(), d_f.get(), f.size(), s.native_handle());
  EXPECT_EQ(d_h.download(), want_bf16);

  // Every bf16 bit pattern, and a few more so the count is odd.
  std::vector<Bf16> h(65536 + 7);
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<Bf16>(i * 40503u);
  std::vector<std::uint32_t> want_bits(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) want_bits[i] = float_bits(bf16_to_float(h[i]));
  DeviceVec<Bf16> d_h2(s, h);
  DeviceVec<float> d_f2(s, h.size());
  gpu::cast_to_f32(d_f2.get(), d_h2.get(), h.size(), s.native_handle());
  const std::vector<float> got = d_f2.download();
  std::vector<std::uint32_t> got_bits(got.size());
  std::memcpy(got_bits.data(), got.data(), got.size() * sizeof(float));
  EXPECT_EQ(got_bits, want_bits);  // bits, so that NaNs compare too
}

// ---- cross-entropy ----

// −log softmax(z)[t] in double, the per-row reference (the CPU layer returns only the mean).
double row_loss(const float* z, int V, int t) {
  double m = z[0];
  for (int i = 1; i < V; ++i) m = std::max(m, double(z[i]));
  double sum = 0;
  for (int i = 0; i < V; ++i) sum += std::exp(double(z[i]) - m);
  return std::log(sum) + m - z[t];
}

void check_cross_entropy(int V, bool in_place) {
  Stream s(Device::cuda(0));
  const int N = 16;
  const std::string tag = " V=" + std::to_string(V) + (in_place ? " in place" : "");
  std::vector<std::int32_t> targets(N);
  std::mt19937 rng(110 + V);
  for (auto& t : targets) t = static_cast<std::int32_t>(rng() % V);
  targets[0] = 0;
  targets[1] = -1;  // ignored: loss 0, dlogits 0, excluded from the mean
  targets[2] = V - 1;
  std::vector<float> logits = random_bf16_values(std::size_t(N) * V, 120 + V, -4, 4);
  auto row = [&](int n) { return logits.data() + std::size_t(n) * V; };
  for (int i = 0; i < V; ++i) row(3)[i] = round_bf16(row(3)[i] + 30.0f);  // large logits: needs the max shift
  for (int i = 0; i < V; ++i) row(4)[i] = round_bf16(row(4)[i] - 96.0f);  // very negative ones
  row(5)[targets[5]] = 15.0f;  // a confident row: p[target] ≈ 0.9 at V = 50257, ≈ 1 − 1e-5 at V = 7
  int valid = 0;
  for (auto t : targets) valid += t >= 0 ? 1 : 0;
  const float dloss_scale = 1.0f / float(valid);

  std::vector<float> probs(logits.size()), dlogits(logits.size(), 0.0f);
  const float loss = cpu::cross_entropy_forward<float>(probs.data(), logits.data(), targets.data(), N, V);
  cpu::cross_entropy_backward<float>(dlogits.data(), probs.data(), targets.data(), N, V, 1.0f);

  DeviceVec<Bf16> d_logits(s, to_bf16(logits));
  DeviceVec<Bf16> d_dlogits(s, std::vector<Bf16>(logits.size(), float_to_bf16(2.0f)));  // garbage: written
  DeviceVec<std::int32_t> d_targets(s, targets);
  DeviceVec<float> d_losses(s, std::vector<float>(N, 123.0f));
  Bf16* out = in_place ? d_logits.get() : d_dlogits.get();
  gpu::cross_entropy_fused(out, d_losses.get(), d_logits.get(), d_targets.get(), N, V, dloss_scale, s.native_handle());
  const std::vector<float> losses = d_losses.download();
  const std::vector<Bf16> got = in_place ? d_logits.download() : d_dlogits.download();

  double mean = 0;
  for (int n = 0; n < N; ++n) {
    if (targets[n] < 0) continue;
    mean += losses[n];
    EXPECT_NEAR(losses[n], row_loss(row(n), V, targets[n]), 1e-5 + 1e-5 * std::fabs(losses[n]))
        << "loss of row " << n << tag;
  }
  mean /= valid;
  EXPECT_EQ(losses[1], 0.0f) << "ignored row" << tag;
  EXPECT_NEAR(mean, loss, 1e-5 + 1e-5 * std::fabs(loss)) << "mean loss" << tag;
  // dlogits are scale·p, as small as ~1e-6 here: the absolute tolerance stays well below them.
  expect_close_bf16(got, dlogits, 1e-7, "dlogits" + tag);
  std::size_t nonzero = 0;
  for (int i = 0; i < V; ++i) nonzero += got[std::size_t(1) * V + i] != 0 ? 1 : 0;
  EXPECT_EQ(nonzero, 0u) << "dlogits of the ignored row must be +0" << tag;
}

TEST(CudaLayers, CrossEntropyFusedMatchesCpuWithAGpt2SizedVocab) {
  REQUIRE_GPU();
  check_cross_entropy(50257, false);
}

TEST(CudaLayers, CrossEntropyFusedWritesDlogitsOverTheLogits) {
  REQUIRE_GPU();
  check_cross_entropy(50257, true);
}

TEST(CudaLayers, CrossEntropyFusedHandlesAVocabSmallerThanTheBlock) {
  REQUIRE_GPU();
  check_cross_entropy(7, false);  // most threads of the row's block see no logit at all
  check_cross_entropy(7, true);
}

// ---- optimizer ----

TEST(CudaLayers, AdamWStepMatchesNnAdamW) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const std::size_t n = 10007, decayed = 6000;  // [0, 6000) decays (a matrix), the rest not (norm weights)
  const nn::AdamWOptions opt;                   // betas 0.9/0.95, eps 1e-8, weight decay 0.1
  nn::AdamW adamw(opt, n, {{0, decayed, true}, {decayed, n - decayed, false}});
  std::vector<float> params = random_floats(n, 130, -1, 1);
  // One CPU step first, so that the GPU starts from non-zero moments and step 2's bias corrections.
  adamw.step(params, random_floats(n, 131, -0.01f, 0.01f), 1e-3);
  const std::vector<float> grads = random_floats(n, 132, -0.02f, 0.02f);

  DeviceVec<float> d_params(s, params), d_grads(s, grads), d_m(s, adamw.m()), d_v(s, adamw.v());
  const Bf16 sentinel = 0xabcd;
  DeviceVec<Bf16> d_bf16(s, std::vector<Bf16>(n, sentinel));

  const double lr = 3e-3;
  // The GPU clips in its update (grad_scale 0.5); the CPU gets the halved gradients (halving is exact).
  std::vector<float> halved = grads;
  for (float& g : halved) g *= 0.5f;
  adamw.step(params, halved, lr);  // step 2 on the CPU
  const double t = 2;
  awsdt::kernels::AdamWScalars h;
  h.lr = float(lr);
  h.beta1 = float(opt.beta1);
  h.beta2 = float(opt.beta2);
  h.eps = float(opt.eps);
  h.bc1 = float(1.0 - std::pow(opt.beta1, t));
  h.bc2 = float(1.0 - std::pow(opt.beta2, t));
  h.decay_factor = float(1.0 - lr * opt.weight_decay);
  h.grad_scale = 0.5f;
  gpu::adamw_step(d_params.get(), d_bf16.get(), d_grads.get(), d_m.get(), d_v.get(), decayed, h, s.native_handle());
  h.decay_factor = 1.0f;  // the norm weights: no decay, and no bf16 copy asked for
  gpu::adamw_step(d_params.get() + decayed, nullptr, d_grads.get() + decayed, d_m.get() + decayed, d_v.get() + decayed,
                  n - decayed, h, s.native_handle());

  // The kernel does nn::AdamW's fp32 operations in its order, without fma contraction: equal up to (at most)
  // the last bit, so the tolerance is far below the decay's lr·wd·p ≈ 3e-4·|p| and the update's lr ≈ 3e-3.
  const std::vector<float> got = d_params.download();
  expect_close(got, params, 1e-9, 1e-6, "params");
  expect_close(d_m.download(), adamw.m(), 1e-12, 1e-6, "m");
  expect_close(d_v.download(), adamw.v(), 1e-15, 1e-6, "v");
  const std::vector<Bf16> bf16 = d_bf16.download();
  for (std::size_t i = 0; i < n; ++i) {
    const Bf16 want = i < decayed ? float_to_bf16(got[i]) : sentinel;
    if (bf16[i] != want) {
      ADD_FAILURE() << "params_bf16[" << i << "] = " << bf16[i] << ", want " << want;
      break;
    }
  }
}

TEST(CudaLayers, SumOfSquaresAndScaleMatchNnOptimizer) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const std::size_t n = (std::size_t(1) << 20) + 3;
  const std::vector<float> x = random_floats(n, 140, -2, 2);
  DeviceVec<float> d_x(s, x);
  DeviceVec<double> d_acc(s, std::vector<double>{1.5});  // accumulates: starts non-zero
  gpu::add_sum_of_squares(d_acc.get(), d_x.get(), n, s.native_handle());
  gpu::add_sum_of_squares(d_acc.get(), d_x.get(), 5, s.native_handle());  // less than one block
  gpu::add_sum_of_squares(d_acc.get(), d_x.get(), 0, s.native_handle());  // nothing
  const double want = 1.5 + nn::sum_of_squares(x) + nn::sum_of_squares(std::span<const float>(x.data(), 5));
  EXPECT_NEAR(d_acc.download()[0], want, 1e-12 * want);  // fp64 sums of exact squares, in another order
}

}  // namespace
}  // namespace awsdt
