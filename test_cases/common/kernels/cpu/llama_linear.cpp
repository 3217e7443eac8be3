// Linear forward and backward as three GEMMs (see llama_gemm.hpp for which implementation runs).
#include "kernels/cpu/llama_linear.hpp"

#include "kernels/cpu/llama_gemm.hpp"

namespace awsdt::kernels::cpu {

template <typename T>
void linear_forward(T* out, const T* inp, const T* weight, int N, int IC, int OC) {
  gemm(false, true, N, OC, IC, T(1), inp, IC, weight, IC, T(0), out, OC);
}

template <typename T>
void linear_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, int N, int IC, int OC,
                     InputGrad mode) {
  const T beta = mode == InputGrad::overwrite ? T(0) : T(1);
  if (dinp != nullptr) gemm(false, false, N, IC, OC, T(1), dout, OC, weight, IC, beta, dinp, IC);
  gemm(true, false, OC, IC, N, T(1), dout, OC, inp, IC, T(1), dweight, IC);
}

template void linear_forward<float>(float*, const float*, const float*, int, int, int);
template void linear_forward<double>(double*, const double*, const double*, int, int, int);
template void linear_backward<float>(float*, float*, const float*, const float*, const float*, int, int, int,
                                     InputGrad);
template void linear_backward<double>(double*, double*, const double*, const double*, const double*, int, int, int,
                                      InputGrad);

}  // namespace awsdt::kernels::cpu
