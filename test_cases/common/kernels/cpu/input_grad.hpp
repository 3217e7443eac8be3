// What a layer's backward does with the previous contents of an input's gradient buffer: add to them (the
// default, so that contributions from several paths sum) or overwrite them, which spares the caller zeroing the
// buffer first (a pass over memory as large as the gradient itself).
#pragma once

namespace awsdt::kernels::cpu {

enum class InputGrad { accumulate, overwrite };

}  // namespace awsdt::kernels::cpu
