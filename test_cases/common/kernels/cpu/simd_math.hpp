// Vector exp for `#pragma omp simd` loops: glibc's libmvec has it, but math.h declares its vector variants only
// under -ffast-math, which would also license reassociation and drop inf/NaN semantics everywhere in the layers.
// Declaring the variants here (and linking libmvec, see kernels/CMakeLists.txt) vectorizes just the exp calls;
// libmvec's expf is within 4 ulp of the correctly rounded result, like the scalar one's 1 ulp far below what training
// sees.
#pragma once

#include <cmath>

#if AWSDT_HAVE_LIBMVEC
extern "C" {
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
double exp(double);
}
#endif

namespace awsdt::kernels::cpu {

inline float simd_exp(float x) { return expf(x); }
inline double simd_exp(double x) { return exp(x); }

}  // namespace awsdt::kernels::cpu
