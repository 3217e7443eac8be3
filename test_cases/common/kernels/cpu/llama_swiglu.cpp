// SwiGLU forward and backward.
#include "kernels/cpu/llama_swiglu.hpp"

#include <cmath>

#include "kernels/cpu/simd_math.hpp"

namespace awsdt::kernels::cpu {

template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, std::size_t count) {
#pragma omp parallel for simd schedule(static)
  for (std::size_t i = 0; i < count; ++i) {
    T sig = T(1) / (T(1) + simd_exp(-gate[i]));
    out[i] = gate[i] * sig * up[i];
  }
}

template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, std::size_t count) {
#pragma omp parallel for simd schedule(static)
  for (std::size_t i = 0; i < count; ++i) {
    T g = gate[i];
    T sig = T(1) / (T(1) + simd_exp(-g));
    T silu = g * sig;
    T dsilu = sig * (T(1) + g * (T(1) - sig));
    dgate[i] += dout[i] * up[i] * dsilu;
    dup[i] += dout[i] * silu;
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, std::size_t);
template void swiglu_forward<double>(double*, const double*, const double*, std::size_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*, std::size_t);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*, std::size_t);

}  // namespace awsdt::kernels::cpu
