// Softmax + cross-entropy forward and the fused backward (llm.c's crossentropy_softmax_backward).
#include "kernels/cpu/llama_cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "kernels/cpu/simd_math.hpp"
#include "util/error.hpp"

namespace awsdt::kernels::cpu {
namespace {

int count_targets(const std::int32_t* targets, int N) {
  int valid = 0;
  for (int n = 0; n < N; ++n) valid += targets[n] >= 0 ? 1 : 0;
  return valid;
}

}  // namespace

template <typename T>
T cross_entropy_forward(T* probs, const T* logits, const std::int32_t* targets, int N, int V) {
  for (int n = 0; n < N; ++n) {
    AWSDT_CHECK(targets[n] < V,
                "target id " + std::to_string(targets[n]) + " outside the vocabulary [0, " + std::to_string(V) + ")");
  }
  // Rows in parallel; their losses are summed afterwards in row order, independent of the thread count.
  std::vector<double> row_loss(static_cast<std::size_t>(N), 0.0);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* z = logits + static_cast<std::size_t>(n) * V;
    T* p = probs + static_cast<std::size_t>(n) * V;
    std::int32_t y = targets[n];
    T maxv = z[0];
#pragma omp simd reduction(max : maxv)
    for (int i = 1; i < V; ++i) maxv = std::max(maxv, z[i]);
    T z_target = y >= 0 ? z[y] : T(0);  // read before p (which may alias z) is written
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < V; ++i) {
      p[i] = simd_exp(z[i] - maxv);
      sum += p[i];
    }
    T inv = T(1) / sum;
#pragma omp simd
    for (int i = 0; i < V; ++i) p[i] *= inv;
    // −log softmax(z)[y] = log Σ exp(z − max) + max − z[y], which cannot overflow to inf as −log p[y] can.
    if (y >= 0) row_loss[n] = std::log(static_cast<double>(sum)) + static_cast<double>(maxv - z_target);
  }
  double loss_sum = 0;
  for (double l : row_loss) loss_sum += l;
  int valid = count_targets(targets, N);
  return valid == 0 ? T(0) : static_cast<T>(loss_sum / valid);
}

template <typename T>
void cross_entropy_backward(T* dlogits, const T* probs, const std::int32_t* targets, int N, int V, T dloss,
                            InputGrad mode) {
  const int valid = count_targets(targets, N);
  const bool overwrite = mode == InputGrad::overwrite;
  if (valid == 0 && !overwrite) return;
  const T scale = valid == 0 ? T(0) : dloss / T(valid);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const std::int32_t y = targets[n];
    const T* p = probs + static_cast<std::size_t>(n) * V;
    T* d = dlogits + static_cast<std::size_t>(n) * V;
    if (y < 0) {
      if (overwrite) std::fill(d, d + V, T(0));
    } else if (overwrite) {
      for (int i = 0; i < V; ++i) d[i] = scale * (p[i] - (i == y ? T(1) : T(0)));  // as accumulating onto 0
    } else {
      for (int i = 0; i < V; ++i) d[i] += scale * (p[i] - (i == y ? T(1) : T(0)));
    }
  }
}

template float cross_entropy_forward<float>(float*, const float*, const std::int32_t*, int, int);
template double cross_entropy_forward<double>(double*, const double*, const std::int32_t*, int, int);
template void cross_entropy_backward<float>(float*, const float*, const std::int32_t*, int, int, float, InputGrad);
template void cross_entropy_backward<double>(double*, const double*, const std::int32_t*, int, int, double, InputGrad);

}  // namespace awsdt::kernels::cpu
