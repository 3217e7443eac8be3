// Residual connection of the Llama decoder: out = a + b, element-wise. It has no backward kernel: the gradient
// of out passes unchanged to a and b, so the model's backward uses it in place (nn::Model::block_backward).
#pragma once

#include <cstddef>

namespace awsdt::kernels::cpu {

/// out[n] = a[n] + b[n]; out may alias a or b.
template <typename T>
void residual_forward(T* out, const T* a, const T* b, std::size_t count);

}  // namespace awsdt::kernels::cpu
