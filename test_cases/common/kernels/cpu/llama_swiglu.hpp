// SwiGLU activation of the Llama MLP: h = silu(gate) · up, element-wise (silu(x) = x · sigmoid(x)).
// Like every llama_* backward, the backward accumulates (+=) into its gradient outputs unless told to overwrite.
#pragma once

#include <cstddef>

#include "kernels/input_grad.hpp"

namespace awsdt::kernels::cpu {

/// out[n] = silu(gate[n]) · up[n] for n in [0, count).
template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, std::size_t count);
/// dgate += dout · up · silu'(gate) and dup += dout · silu(gate) (= with InputGrad::overwrite).
template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, std::size_t count,
                     InputGrad mode = InputGrad::accumulate);

}  // namespace awsdt::kernels::cpu
