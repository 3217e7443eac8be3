// Stand-in for kernels/cuda/*.cu in builds without CUDA: CUDA streams cannot exist there, so these are
// unreachable in practice; they fail loudly rather than silently.
#include "kernels/fill.hpp"
#include "util/error.hpp"

namespace awsdt::kernels::cuda {

void fill_pattern(void*, std::size_t, DataType, const Pattern&, int, std::size_t, void*) {
  AWSDT_THROW("this build of awsdt has no CUDA kernels (configured without CUDA)");
}
std::uint64_t count_mismatches(const void*, std::size_t, DataType, const Expectation&, void*) {
  AWSDT_THROW("this build of awsdt has no CUDA kernels (configured without CUDA)");
}

}  // namespace awsdt::kernels::cuda
