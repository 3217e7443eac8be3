// SwiGLU forward and backward.
#include "kernels/cpu/llama_swiglu.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/simd_math.hpp"

namespace awsdt::kernels::cpu {
namespace {

// Fixed blocks of elements, each one simd loop: whether an element takes the vector exp or the scalar one (the
// loop's tail) depends on its block alone, so the results do not change with the thread count. (Written out in
// both functions: GCC 12 does not vectorize the simd loop inside a lambda called from the parallel loop.)
constexpr std::size_t kBlock = 1024;

std::size_t blocks_of(std::size_t count) { return (count + kBlock - 1) / kBlock; }

}  // namespace

template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, std::size_t count) {
#pragma omp parallel for schedule(static)
  for (std::size_t b = 0; b < blocks_of(count); ++b) {
    const std::size_t end = std::min(count, (b + 1) * kBlock);
#pragma omp simd
    for (std::size_t i = b * kBlock; i < end; ++i) {
      T sig = T(1) / (T(1) + simd_exp(-gate[i]));
      out[i] = gate[i] * sig * up[i];
    }
  }
}

// The backward with `Acc` fixed at compile time, so that each loop vectorizes and the overwriting one never
// reads the gradients' old values.
template <bool Acc, typename T>
void swiglu_backward_as(T* dgate, T* dup, const T* dout, const T* gate, const T* up, std::size_t count) {
#pragma omp parallel for schedule(static)
  for (std::size_t b = 0; b < blocks_of(count); ++b) {
    const std::size_t end = std::min(count, (b + 1) * kBlock);
#pragma omp simd
    for (std::size_t i = b * kBlock; i < end; ++i) {
      T g = gate[i];
      T sig = T(1) / (T(1) + simd_exp(-g));
      T silu = g * sig;
      T dsilu = sig * (T(1) + g * (T(1) - sig));
      const T dg = dout[i] * up[i] * dsilu, du = dout[i] * silu;
      dgate[i] = Acc ? dgate[i] + dg : dg;
      dup[i] = Acc ? dup[i] + du : du;
    }
  }
}

template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, std::size_t count, InputGrad mode) {
  if (mode == InputGrad::overwrite)
    swiglu_backward_as<false>(dgate, dup, dout, gate, up, count);
  else
    swiglu_backward_as<true>(dgate, dup, dout, gate, up, count);
}

template void swiglu_forward<float>(float*, const float*, const float*, std::size_t);
template void swiglu_forward<double>(double*, const double*, const double*, std::size_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*, std::size_t, InputGrad);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*, std::size_t,
                                      InputGrad);

}  // namespace awsdt::kernels::cpu
