// GPU tests (label gpu) of the CUDA attention, flash-style (kernels/cuda/llama_attention) and chunked on tensor cores
// (kernels/cuda/chunked_attention): the forward's output and the backward's dq, dk, dv against the CPU reference
// kernels (fp32, on the same bf16-rounded inputs), lse against log-sum-exp in double. GPU tests skip with a message
// where no GPU is visible; the shape checks, which throw before anything reaches the GPU, run everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "device/device.hpp"
#include "kernels/cpu/llama_attention.hpp"
#include "kernels/cuda/chunked_attention.hpp"
#include "kernels/cuda/llama_attention.hpp"
#include "util/error.hpp"
#include "util/half.hpp"
#include "support/gpu.hpp"

using namespace awsdt;
using kernels::cpu::AttentionShape;
using kernels::cuda::Bf16;

namespace {

std::size_t q_count(const AttentionShape& s) { return std::size_t(s.B) * s.T * s.n_heads * s.head_dim; }
std::size_t kv_count(const AttentionShape& s) { return std::size_t(s.B) * s.T * s.n_kv_heads * s.head_dim; }
std::size_t lse_count(const AttentionShape& s) { return std::size_t(s.B) * s.n_heads * s.T; }

std::string shape_name(const AttentionShape& s) {
  std::ostringstream o;
  o << "B=" << s.B << " T=" << s.T << " NH=" << s.n_heads << " NKV=" << s.n_kv_heads << " hd=" << s.head_dim;
  return o.str();
}

// n values N(0, sigma²) rounded to bf16.
std::vector<Bf16> random_bf16(std::size_t n, float sigma, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, sigma);
  std::vector<Bf16> x(n);
  for (auto& e : x) e = float_to_bf16(normal(rng));
  return x;
}

std::vector<float> widen(const std::vector<Bf16>& x) {
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = bf16_to_float(x[i]);
  return y;
}

Buffer device_buffer(std::size_t bytes) { return Buffer(bytes, MemoryKind::Device, Device::cuda(0)); }

template <class T>
Buffer upload(const std::vector<T>& host, Stream& stream) {
  Buffer b = device_buffer(host.size() * sizeof(T));
  copy_async(b.data(), host.data(), host.size() * sizeof(T), stream);
  return b;
}

template <class T>
std::vector<T> download(const Buffer& b, std::size_t count, Stream& stream) {
  std::vector<T> host(count);
  copy_async(host.data(), b.data(), count * sizeof(T), stream);
  stream.synchronize();
  return host;
}

// llm.c-style closeness: |got − ref| ≤ tol + |ref|·eps for every element, where tol = max(rms(ref)·tol_frac, 1e-5)
// holds the elements near zero to a small fraction of the tensor's typical size (the floor covers all-zero
// references, such as dq and dk at T = 1, which fp32 rounding leaves at ~1e-7 on the GPU). eps = 1/64 leaves room over
// bf16's own rounding (≤ 2⁻⁸ relative) and the fp32 differences between the kernels. NaN fails (outputs start as NaN,
// so an element the kernel never wrote fails too).
::testing::AssertionResult all_close(const char* what, const std::vector<float>& got, const std::vector<float>& ref,
                                     double tol_frac = 1.0 / 64, double eps = 1.0 / 64) {
  if (got.size() != ref.size()) return ::testing::AssertionFailure() << what << ": size mismatch";
  double sq = 0;
  for (float r : ref) sq += double(r) * r;
  const double tol = std::max(std::sqrt(sq / std::max<std::size_t>(ref.size(), 1)) * tol_frac, 1e-5);
  std::size_t bad = 0;
  std::ostringstream first;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - ref[i]);
    const double bound = tol + std::fabs(ref[i]) * eps;
    if (!(err <= bound)) {
      if (bad < 5) first << "\n  [" << i << "] got " << got[i] << " want " << ref[i];
      ++bad;
    }
    if (!(err / bound <= worst)) worst = std::isnan(err) ? INFINITY : err / bound;
  }
  if (bad == 0) return ::testing::AssertionSuccess() << what << ": worst error " << worst << " of its bound";
  return ::testing::AssertionFailure() << what << ": " << bad << " of " << got.size() << " elements off (tol " << tol
                                       << ", eps " << eps << ")" << first.str();
}

// Per (b, h, t): log Σ_{j ≤ t} exp(scale · q_t·k_j) in double, from the bf16 inputs; the max is folded in.
double lse_double(const std::vector<float>& q, const std::vector<float>& k, const AttentionShape& s, int b, int h,
                  int t) {
  const int g = h / (s.n_heads / s.n_kv_heads);
  const double scale = 1.0 / std::sqrt(double(s.head_dim));
  const float* qr = &q[((std::size_t(b) * s.T + t) * s.n_heads + h) * s.head_dim];
  std::vector<double> scores(t + 1);
  double m = -INFINITY;
  for (int j = 0; j <= t; ++j) {
    const float* kr = &k[((std::size_t(b) * s.T + j) * s.n_kv_heads + g) * s.head_dim];
    double dot = 0;
    for (int d = 0; d < s.head_dim; ++d) dot += double(qr[d]) * kr[d];
    scores[j] = dot * scale;
    m = std::max(m, scores[j]);
  }
  double sum = 0;
  for (double x : scores) sum += std::exp(x - m);
  return m + std::log(sum);
}

// Which CUDA attention runs: the flash-style kernels, or the chunked tensor-core one with a scores budget (a
// small one cuts the rows into many chunks).
struct Impl {
  bool chunked = false;
  std::size_t budget = kernels::cuda::kChunkedAttentionBudget;
};
constexpr Impl kFlash{};

// Forward and backward on the GPU against the CPU reference (fp32) on the same bf16 inputs.
void check_against_cpu(const AttentionShape& s, unsigned seed, Impl impl = kFlash) {
  SCOPED_TRACE(shape_name(s) + (impl.chunked ? " chunked, budget " + std::to_string(impl.budget) : " flash"));
  std::mt19937 rng(seed);
  // q and k a little wider than N(0, 1) so that the softmax is far from uniform.
  const auto q = random_bf16(q_count(s), 1.5f, rng), k = random_bf16(kv_count(s), 1.5f, rng);
  const auto v = random_bf16(kv_count(s), 1.f, rng), dout = random_bf16(q_count(s), 1.f, rng);
  const auto qf = widen(q), kf = widen(k), vf = widen(v), doutf = widen(dout);

  // CPU reference. Its backward accumulates, so the gradients start at zero.
  std::vector<float> out_ref(q_count(s)), att(lse_count(s) * s.T);
  kernels::cpu::attention_forward<float>(out_ref.data(), att.data(), qf.data(), kf.data(), vf.data(), s);
  std::vector<float> dq_ref(q_count(s), 0.f), dk_ref(kv_count(s), 0.f), dv_ref(kv_count(s), 0.f);
  kernels::cpu::attention_backward<float>(dq_ref.data(), dk_ref.data(), dv_ref.data(), doutf.data(), qf.data(),
                                          kf.data(), vf.data(), att.data(), s);

  Stream stream(Device::cuda(0));
  Buffer q_d = upload(q, stream), k_d = upload(k, stream), v_d = upload(v, stream), dout_d = upload(dout, stream);
  Buffer out_d = device_buffer(q_count(s) * 2), lse_d = device_buffer(lse_count(s) * 4);
  Buffer dq_d = device_buffer(q_count(s) * 2), dk_d = device_buffer(kv_count(s) * 2);
  Buffer dv_d = device_buffer(kv_count(s) * 2), scratch_d = device_buffer(lse_count(s) * 4);
  // All ones: NaN in bf16 and fp32, so an element the kernels leave unwritten fails the comparisons.
  for (Buffer* b : {&out_d, &lse_d, &dq_d, &dk_d, &dv_d, &scratch_d}) memset_async(b->data(), 0xff, b->bytes(), stream);

  if (impl.chunked) {
    Buffer work = device_buffer(kernels::cuda::chunked_attention_layout(s, impl.budget).bytes);
    memset_async(work.data(), 0xff, work.bytes(), stream);  // NaN scores and probabilities until written
    kernels::cuda::chunked_attention_forward(out_d.as<Bf16>(), lse_d.as<float>(), q_d.as<Bf16>(), k_d.as<Bf16>(),
                                             v_d.as<Bf16>(), s, work.data(), stream.native_handle(), impl.budget);
    kernels::cuda::chunked_attention_backward(dq_d.as<Bf16>(), dk_d.as<Bf16>(), dv_d.as<Bf16>(), dout_d.as<Bf16>(),
                                              out_d.as<Bf16>(), q_d.as<Bf16>(), k_d.as<Bf16>(), v_d.as<Bf16>(),
                                              lse_d.as<float>(), scratch_d.as<float>(), s, work.data(),
                                              stream.native_handle(), impl.budget);
    stream.synchronize();  // before the workspace goes
  } else {
    kernels::cuda::attention_forward(out_d.as<Bf16>(), lse_d.as<float>(), q_d.as<Bf16>(), k_d.as<Bf16>(),
                                     v_d.as<Bf16>(), s, stream.native_handle());
    kernels::cuda::attention_backward(dq_d.as<Bf16>(), dk_d.as<Bf16>(), dv_d.as<Bf16>(), dout_d.as<Bf16>(),
                                      out_d.as<Bf16>(), q_d.as<Bf16>(), k_d.as<Bf16>(), v_d.as<Bf16>(),
                                      lse_d.as<float>(), scratch_d.as<float>(), s, stream.native_handle());
  }
  const auto out = widen(download<Bf16>(out_d, q_count(s), stream));
  const auto lse = download<float>(lse_d, lse_count(s), stream);
  const auto dq = widen(download<Bf16>(dq_d, q_count(s), stream));
  const auto dk = widen(download<Bf16>(dk_d, kv_count(s), stream));
  const auto dv = widen(download<Bf16>(dv_d, kv_count(s), stream));

  EXPECT_TRUE(all_close("out", out, out_ref));
  EXPECT_TRUE(all_close("dv", dv, dv_ref));
  // dq and dk get a wider floor: the kernels take D = rowsum(dout ⊙ out) from the bf16 out, as flash attention
  // does, where the CPU has the fp32 probabilities. Where one key dominates a row, dp ≈ D and ds is mostly that
  // rounding (≈ 2⁻⁹·|dout|·|out|·sqrt(hd)); on these shapes it reaches about 2 × rms/64, so rms/16 leaves room.
  EXPECT_TRUE(all_close("dq", dq, dq_ref, 1.0 / 16));
  EXPECT_TRUE(all_close("dk", dk, dk_ref, 1.0 / 16));

  std::size_t bad = 0;
  for (int b = 0; b < s.B; ++b)
    for (int h = 0; h < s.n_heads; ++h)
      for (int t = 0; t < s.T; ++t) {
        const double want = lse_double(qf, kf, s, b, h, t);
        const float got = lse[(std::size_t(b) * s.n_heads + h) * s.T + t];
        if (!(std::fabs(got - want) <= 2e-4 + 1e-5 * std::fabs(want)) && bad++ < 5)
          ADD_FAILURE() << "lse[b=" << b << ", h=" << h << ", t=" << t << "] = " << got << ", want " << want;
      }
  EXPECT_EQ(bad, 0u) << "lse values off";
}

}  // namespace

TEST(CudaAttention, GroupedQueryMatchesTheCpuReference) {
  REQUIRE_GPU();
  // Four query heads per kv head; T = 300 spans several partial tiles and a ragged end.
  check_against_cpu({2, 300, 8, 2, 64}, 1);
}

TEST(CudaAttention, MultiHeadHeadDim128MatchesTheCpuReference) {
  REQUIRE_GPU();
  check_against_cpu({1, 129, 4, 4, 128}, 2);
}

TEST(CudaAttention, SingleTokenMatchesTheCpuReference) {
  REQUIRE_GPU();
  // One token: the output is v itself, lse the single score, dq and dk zero.
  check_against_cpu({3, 1, 4, 2, 64}, 3);
}

TEST(CudaAttention, OtherHeadDimsMatchTheCpuReference) {
  REQUIRE_GPU();
  // Sizes padded to the next tile width (96 → 128, 80 → 128, 16 → 32) and the two ends of the range.
  check_against_cpu({1, 77, 6, 3, 96}, 4);
  check_against_cpu({2, 45, 2, 1, 80}, 5);
  check_against_cpu({1, 100, 4, 1, 16}, 6);
  check_against_cpu({1, 70, 4, 2, 32}, 7);
  check_against_cpu({1, 40, 2, 2, 256}, 8);
}

TEST(CudaAttention, LongSequenceForwardMatchesDoubleOnSampledRows) {
  REQUIRE_GPU();
  const AttentionShape s{1, 2048, 4, 1, 64};
  std::mt19937 rng(9);
  const auto q = random_bf16(q_count(s), 1.5f, rng), k = random_bf16(kv_count(s), 1.5f, rng);
  const auto v = random_bf16(kv_count(s), 1.f, rng);
  const auto qf = widen(q), kf = widen(k), vf = widen(v);

  Stream stream(Device::cuda(0));
  Buffer q_d = upload(q, stream), k_d = upload(k, stream), v_d = upload(v, stream);
  Buffer out_d = device_buffer(q_count(s) * 2), lse_d = device_buffer(lse_count(s) * 4);
  memset_async(out_d.data(), 0xff, out_d.bytes(), stream);
  memset_async(lse_d.data(), 0xff, lse_d.bytes(), stream);
  kernels::cuda::attention_forward(out_d.as<Bf16>(), lse_d.as<float>(), q_d.as<Bf16>(), k_d.as<Bf16>(), v_d.as<Bf16>(),
                                   s, stream.native_handle());
  const auto out = widen(download<Bf16>(out_d, q_count(s), stream));
  const auto lse = download<float>(lse_d, lse_count(s), stream);
  for (float x : out) ASSERT_TRUE(std::isfinite(x)) << "an output element is not finite (or was never written)";
  for (float x : lse) ASSERT_TRUE(std::isfinite(x)) << "an lse element is not finite (or was never written)";

  // Rows at tile edges, in the middle and at the end, recomputed in double: out_t = Σ_j softmax_j v_j.
  const double scale = 1.0 / std::sqrt(double(s.head_dim));
  const int hd = s.head_dim;
  std::vector<int> rows = {0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 1000, 1023, 1024, 1500, 2046, 2047};
  for (int i = 0; i < 8; ++i) rows.push_back(std::uniform_int_distribution<int>(0, s.T - 1)(rng));
  std::size_t bad = 0;
  for (int h = 0; h < s.n_heads; ++h)
    for (int t : rows) {
      const double l = lse_double(qf, kf, s, 0, h, t);
      const float got_lse = lse[std::size_t(h) * s.T + t];
      if (!(std::fabs(got_lse - l) <= 2e-4 + 1e-5 * std::fabs(l)) && bad++ < 5)
        ADD_FAILURE() << "lse[h=" << h << ", t=" << t << "] = " << got_lse << ", want " << l;
      const float* qr = &qf[(std::size_t(t) * s.n_heads + h) * hd];
      std::vector<double> want(hd, 0.0);
      for (int j = 0; j <= t; ++j) {
        const float* kr = &kf[std::size_t(j) * hd];  // one kv head
        double dot = 0;
        for (int d = 0; d < hd; ++d) dot += double(qr[d]) * kr[d];
        const double p = std::exp(dot * scale - l);
        for (int d = 0; d < hd; ++d) want[d] += p * vf[std::size_t(j) * hd + d];
      }
      for (int d = 0; d < hd; ++d) {
        const float got = out[(std::size_t(t) * s.n_heads + h) * hd + d];
        // Rows of a long average are small (|out| ~ 1/sqrt(keys seen)), hence the fixed 2e-3 floor rather than
        // a fraction of the RMS; bf16 rounding alone is ≤ 2⁻⁸ relative.
        if (!(std::fabs(got - want[d]) <= 2e-3 + std::fabs(want[d]) / 64) && bad++ < 5)
          ADD_FAILURE() << "out[h=" << h << ", t=" << t << ", d=" << d << "] = " << got << ", want " << want[d];
      }
    }
  EXPECT_EQ(bad, 0u) << "sampled rows off";
}

// The chunked tensor-core attention: one chunk, many chunks with a ragged last one (64-row chunks: a budget of
// 64 rows' scores and probabilities), Llama-3's head size with four query heads per kv head, one token.
TEST(CudaAttention, ChunkedMatchesTheCpuReference) {
  REQUIRE_GPU();
  auto rows_budget = [](const AttentionShape& s) {
    return std::size_t(s.B) * s.n_heads * kernels::chunked::score_ld(s) * 6 * 64;
  };
  const AttentionShape gqa{2, 300, 8, 2, 64}, llama3{1, 300, 8, 2, 128}, one{3, 1, 4, 2, 64};
  check_against_cpu(gqa, 1, {true});
  check_against_cpu(gqa, 1, {true, rows_budget(gqa)});
  check_against_cpu(llama3, 10, {true, rows_budget(llama3)});
  check_against_cpu(one, 3, {true});
  check_against_cpu({1, 77, 6, 3, 96}, 4, {true, rows_budget({1, 77, 6, 3, 96})});
}

// Shapes the kernels cannot take are refused on the host, before anything is enqueued: no GPU needed.
TEST(CudaAttention, RejectsUnsupportedShapes) {
  const AttentionShape bad_group{1, 8, 6, 4, 64};
  EXPECT_THROW(kernels::cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, bad_group, nullptr),
               Error);
  EXPECT_THROW(kernels::cuda::attention_backward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                 nullptr, nullptr, bad_group, nullptr),
               Error);
  const AttentionShape too_wide{1, 8, 4, 4, 320};
  EXPECT_THROW(kernels::cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, too_wide, nullptr), Error);
  const AttentionShape no_kv_heads{1, 8, 4, 0, 64};
  EXPECT_THROW(kernels::cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, no_kv_heads, nullptr),
               Error);
  const AttentionShape too_many_rows{70000, 8, 1, 1, 64};  // B·NH past the grid's y limit
  EXPECT_THROW(kernels::cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, too_many_rows, nullptr),
               Error);
  const AttentionShape odd_head{1, 8, 4, 2, 36};  // not a multiple of 8: the flash kernels' job
  EXPECT_FALSE(kernels::cuda::chunked_attention_supports(odd_head));
  EXPECT_THROW(
      kernels::cuda::chunked_attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, odd_head, nullptr, nullptr),
      Error);
  // Empty shapes are valid and do nothing.
  EXPECT_NO_THROW(
      kernels::cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, {0, 8, 4, 2, 64}, nullptr));
  EXPECT_NO_THROW(
      kernels::cuda::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, {2, 0, 4, 2, 64}, nullptr));
}
