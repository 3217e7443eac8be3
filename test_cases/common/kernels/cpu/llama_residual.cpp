// Residual add forward and backward.
#include "kernels/cpu/llama_residual.hpp"

namespace awsdt::kernels::cpu {

template <typename T>
void residual_forward(T* out, const T* a, const T* b, std::size_t count) {
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < count; ++i) out[i] = a[i] + b[i];
}

template void residual_forward<float>(float*, const float*, const float*, std::size_t);
template void residual_forward<double>(double*, const double*, const double*, std::size_t);

}  // namespace awsdt::kernels::cpu
