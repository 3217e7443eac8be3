// GPU tests (label gpu) of the tensor-parallel CUDA layers (kernels/cuda/tp_layers.hpp) on one GPU: the vocabulary
// is cut into `parts` slices as TP ranks hold it, each slice runs the kernels on its own, and the host plays the
// group's all-reduces (max, then sum) between them. The results must equal the whole-vocabulary layers: the
// embedding's slices sum to the lookup (exactly), the table gradient lands in the slice that holds each token,
// and the vocab-parallel cross-entropy gives the CPU cross-entropy's losses and ∂loss/∂logits. Skipped with a
// message where no GPU is visible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "device/device.hpp"
#include "kernels/cpu/llama_cross_entropy.hpp"
#include "kernels/cuda/tp_layers.hpp"
#include "support/gpu.hpp"
#include "util/half.hpp"

namespace awsdt {
namespace {

namespace gpu = kernels::cuda;
using gpu::Bf16;

float round_bf16(float x) { return bf16_to_float(float_to_bf16(x)); }

std::vector<float> random_bf16_values(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = round_bf16(dist(rng));
  return v;
}

// n elements of device memory on cuda:0, filled from and read back to host vectors.
template <class T>
struct DeviceVec {
  DeviceVec(Stream& s, const std::vector<T>& host)
      : stream(&s), n(host.size()), buf(std::max<std::size_t>(n, 1) * sizeof(T), MemoryKind::Device, Device::cuda(0)) {
    copy_async(buf.data(), host.data(), n * sizeof(T), s);
    s.synchronize();
  }
  std::vector<T> download() {
    std::vector<T> host(n);
    copy_async(host.data(), buf.data(), n * sizeof(T), *stream);
    stream->synchronize();
    return host;
  }
  T* get() { return buf.as<T>(); }
  Stream* stream;
  std::size_t n;
  Buffer buf;
};

std::vector<Bf16> to_bf16(const std::vector<float>& v) {
  std::vector<Bf16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = float_to_bf16(v[i]);
  return out;
}

// Columns [v0, v0 + Vp) of rows [N, V].
std::vector<float> columns(const std::vector<float>& x, int N, int V, int v0, int Vp) {
  std::vector<float> out(static_cast<std::size_t>(N) * Vp);
  for (int n = 0; n < N; ++n)
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(n) * V + v0, Vp,
                out.begin() + static_cast<std::ptrdiff_t>(n) * Vp);
  return out;
}

void check_embedding(int parts) {
  Stream s(Device::cuda(0));
  const int V = 96, C = 40, N = 33, Vp = V / parts;
  std::vector<std::int32_t> tokens(N);
  std::mt19937 rng(3);
  for (auto& t : tokens) t = static_cast<std::int32_t>(rng() % V);
  tokens[0] = 0;
  tokens[1] = V - 1;
  tokens[2] = tokens[3] = Vp;  // the first row of the second slice, twice (atomics)
  const std::vector<float> table = random_bf16_values(std::size_t(V) * C, 5, -1, 1);
  const std::vector<float> dout = random_bf16_values(std::size_t(N) * C, 6, -1, 1);
  DeviceVec<std::int32_t> d_tokens(s, tokens);
  DeviceVec<Bf16> d_dout(s, to_bf16(dout));
  std::vector<float> sum(std::size_t(N) * C, 0.0f);
  for (int r = 0; r < parts; ++r) {
    const int v0 = r * Vp;
    DeviceVec<Bf16> d_table(s, to_bf16(std::vector<float>(table.begin() + std::ptrdiff_t(v0) * C,
                                                          table.begin() + std::ptrdiff_t(v0 + Vp) * C)));
    DeviceVec<Bf16> d_out(s, std::vector<Bf16>(sum.size(), float_to_bf16(7.0f)));  // garbage: written
    DeviceVec<float> d_grad(s, std::vector<float>(std::size_t(Vp) * C, 0.5f));     // accumulated onto
    gpu::vocab_embedding_forward(d_out.get(), d_tokens.get(), d_table.get(), N, C, v0, Vp, s.native_handle());
    gpu::vocab_embedding_backward(d_grad.get(), d_tokens.get(), d_dout.get(), N, C, v0, Vp, s.native_handle());
    const std::vector<Bf16> out = d_out.download();
    for (std::size_t i = 0; i < out.size(); ++i) sum[i] += bf16_to_float(out[i]);
    std::vector<double> want(std::size_t(Vp) * C, 0.5);
    for (int n = 0; n < N; ++n)
      if (tokens[n] >= v0 && tokens[n] < v0 + Vp)
        for (int c = 0; c < C; ++c) want[std::size_t(tokens[n] - v0) * C + c] += dout[std::size_t(n) * C + c];
    const std::vector<float> grad = d_grad.download();
    for (std::size_t i = 0; i < grad.size(); ++i)
      ASSERT_NEAR(grad[i], want[i], 1e-5) << "slice " << r << " of " << parts << ", gradient element " << i;
  }
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      ASSERT_EQ(sum[std::size_t(n) * C + c], table[std::size_t(tokens[n]) * C + c])
          << parts << " slices: token " << n << " column " << c;
}

void check_cross_entropy(int parts) {
  Stream s(Device::cuda(0));
  const int N = 12, V = 1000, Vp = V / parts;
  std::vector<std::int32_t> targets(N);
  std::mt19937 rng(11);
  for (auto& t : targets) t = static_cast<std::int32_t>(rng() % V);
  targets[0] = 0;
  targets[1] = -1;  // ignored: loss 0, dlogits 0
  targets[2] = V - 1;
  targets[3] = Vp;  // the second slice's first row
  std::vector<float> logits = random_bf16_values(std::size_t(N) * V, 12, -4, 4);
  for (int i = 0; i < V; ++i) logits[std::size_t(4) * V + i] = round_bf16(logits[std::size_t(4) * V + i] + 30.0f);
  int valid = 0;
  for (auto t : targets) valid += t >= 0 ? 1 : 0;
  const float scale = 1.0f / float(valid);
  std::vector<float> probs(logits.size()), want_d(logits.size(), 0.0f);
  const float want_loss = kernels::cpu::cross_entropy_forward<float>(probs.data(), logits.data(), targets.data(), N, V);
  kernels::cpu::cross_entropy_backward<float>(want_d.data(), probs.data(), targets.data(), N, V, 1.0f);

  DeviceVec<std::int32_t> d_targets(s, targets);
  std::vector<DeviceVec<Bf16>> d_logits;
  for (int r = 0; r < parts; ++r) d_logits.emplace_back(s, to_bf16(columns(logits, N, V, r * Vp, Vp)));
  // The group's max, then its sums: what the two all-reduces deliver.
  std::vector<float> row_max(N, -INFINITY), stats(2 * std::size_t(N), 0.0f);
  for (int r = 0; r < parts; ++r) {
    DeviceVec<float> d_max(s, std::vector<float>(N, 0.0f));
    gpu::vocab_ce_row_max(d_max.get(), d_logits[r].get(), N, Vp, s.native_handle());
    const std::vector<float> m = d_max.download();
    for (int n = 0; n < N; ++n) row_max[n] = std::max(row_max[n], m[n]);
  }
  DeviceVec<float> d_row_max(s, row_max);
  for (int r = 0; r < parts; ++r) {
    DeviceVec<float> d_stats(s, std::vector<float>(stats.size(), 9.0f));  // garbage: written
    gpu::vocab_ce_stats(d_stats.get(), d_logits[r].get(), d_targets.get(), d_row_max.get(), N, Vp, r * Vp,
                        s.native_handle());
    const std::vector<float> st = d_stats.download();
    for (std::size_t i = 0; i < st.size(); ++i) stats[i] += st[i];
  }
  DeviceVec<float> d_stats(s, stats);
  double loss = 0;
  std::vector<float> first_losses;
  for (int r = 0; r < parts; ++r) {
    DeviceVec<float> d_losses(s, std::vector<float>(N, 123.0f));
    gpu::vocab_ce_finish(d_logits[r].get(), d_losses.get(), d_logits[r].get(), d_targets.get(), d_row_max.get(),
                         d_stats.get(), N, Vp, r * Vp, scale, s.native_handle());
    const std::vector<float> losses = d_losses.download();
    if (r == 0) {
      first_losses = losses;
      for (float l : losses) loss += l;
    }
    EXPECT_EQ(losses, first_losses) << "every slice has every token's loss, the same bits";
    for (int n = 0; n < N; ++n) {
      if (targets[n] < 0) {
        EXPECT_EQ(losses[n], 0.0f) << "ignored row " << n;
      }
    }
    const std::vector<Bf16> d = d_logits[r].download();
    const std::vector<float> want = columns(want_d, N, V, r * Vp, Vp);
    for (std::size_t i = 0; i < d.size(); ++i) {
      const float got = bf16_to_float(d[i]), ref = want[i];  // the CPU's backward divides by `valid` too
      ASSERT_NEAR(got, ref, 1e-6 + std::fabs(ref) / 128) << parts << " slices: slice " << r << " element " << i;
    }
  }
  EXPECT_NEAR(loss / valid, want_loss, 1e-4 * std::fabs(want_loss)) << parts << " slices";
}

TEST(CudaTpLayers, VocabParallelEmbeddingSlicesSumToTheLookup) {
  REQUIRE_GPU();
  for (int parts : {1, 2, 4}) check_embedding(parts);
}

TEST(CudaTpLayers, VocabParallelCrossEntropyEqualsTheWholeVocabulary) {
  REQUIRE_GPU();
  for (int parts : {1, 2, 4}) check_cross_entropy(parts);
}

}  // namespace
}  // namespace awsdt
