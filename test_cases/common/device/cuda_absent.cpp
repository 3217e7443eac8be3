// The one stand-in of a build without CUDA: the factory of the CUDA runtime says there is none. Everything else
// that is CUDA-shaped (device/cuda/, kernels/cuda/, the CUDA model and backends) is compiled only with CUDA.
#include "device/cuda/cuda_api.hpp"

namespace awsdt::cuda {

const CudaApi* cuda_runtime() { return nullptr; }

}  // namespace awsdt::cuda
