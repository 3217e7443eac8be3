// Residual connection of the Llama decoder: out = a + b, element-wise.
// Like every llama_* backward, the backward accumulates (+=) into its gradient outputs.
#pragma once

#include <cstddef>

namespace awsdt::kernels::cpu {

/// out[n] = a[n] + b[n]; out may alias a or b.
template <typename T>
void residual_forward(T* out, const T* a, const T* b, std::size_t count);
/// da += dout and db += dout.
template <typename T>
void residual_backward(T* da, T* db, const T* dout, std::size_t count);

}  // namespace awsdt::kernels::cpu
