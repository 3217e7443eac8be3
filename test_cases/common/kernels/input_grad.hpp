// What a layer's backward does with the previous contents of an input's gradient buffer, on every device: add
// to them (so that contributions from several paths sum) or overwrite them, which spares the caller zeroing the
// buffer first (a pass over memory as large as the gradient itself).
#pragma once

namespace awsdt::kernels {

enum class InputGrad { accumulate, overwrite };

namespace cpu {
using kernels::InputGrad;
}  // namespace cpu

namespace cuda {
using kernels::InputGrad;
}  // namespace cuda

}  // namespace awsdt::kernels
