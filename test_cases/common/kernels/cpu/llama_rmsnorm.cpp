// RMSNorm forward and backward (llm.c layernorm without mean and bias).
#include "kernels/cpu/llama_rmsnorm.hpp"

#include <cmath>
#include <cstddef>

namespace awsdt::kernels::cpu {

template <typename T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, double eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + static_cast<std::size_t>(n) * C;
    T* y = out + static_cast<std::size_t>(n) * C;
    T sum_sq = 0;
#pragma omp simd reduction(+ : sum_sq)
    for (int c = 0; c < C; ++c) sum_sq += x[c] * x[c];
    T r = T(1) / std::sqrt(sum_sq / T(C) + T(eps));
    for (int c = 0; c < C; ++c) y[c] = (x[c] * r) * weight[c];
    rstd[n] = r;
  }
}

template <typename T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, const T* rstd, int N, int C) {
  // Rows in parallel for dinp; dweight sums over rows, so its pass splits the columns instead and adds the rows
  // in order: the result does not depend on the thread count.
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* x = inp + static_cast<std::size_t>(n) * C;
    const T* dy = dout + static_cast<std::size_t>(n) * C;
    T* dx = dinp + static_cast<std::size_t>(n) * C;
    T r = rstd[n];
    // With xhat = x·r: dxhat = dy·w and dx = r · (dxhat − xhat · mean(dxhat·xhat)).
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int c = 0; c < C; ++c) dot += dy[c] * weight[c] * x[c] * r;
    T mean_dot = dot / T(C);
    for (int c = 0; c < C; ++c) dx[c] += r * (dy[c] * weight[c] - x[c] * r * mean_dot);
  }
  constexpr int kColumns = 64;
#pragma omp parallel for schedule(static)
  for (int c0 = 0; c0 < C; c0 += kColumns) {
    const int c1 = c0 + kColumns < C ? c0 + kColumns : C;
    for (int n = 0; n < N; ++n) {
      const T* x = inp + static_cast<std::size_t>(n) * C;
      const T* dy = dout + static_cast<std::size_t>(n) * C;
      const T r = rstd[n];
      for (int c = c0; c < c1; ++c) dweight[c] += dy[c] * (x[c] * r);
    }
  }
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int, int, double);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int, int, double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*, const float*, int, int);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*, const double*, const double*,
                                       int, int);

}  // namespace awsdt::kernels::cpu
