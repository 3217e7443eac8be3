// The device dispatch of kernels/gemm.hpp and its CPU side: fp32 GEMMs and additions as tasks of a CPU stream.
#include "kernels/gemm.hpp"

#include <string>

#include "awsdt/config.hpp"
#include "kernels/cpu/llama_gemm.hpp"
#include "util/error.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace awsdt::kernels {
namespace {

// Runs now when called from the stream's own task (nothing is ahead of it), else queues it.
template <class F>
void on_cpu_stream(Stream& stream, F&& work) {
  if (stream.runs_here()) return work();
  stream.enqueue(std::forward<F>(work));
}

// OpenBLAS's OpenMP build runs as many threads as omp_get_max_threads() of the thread that calls it, and a
// stream's worker thread starts with OpenMP's default (every CPU), not what the rank chose: the engine applies
// the thread count of the thread that made it, once per worker.
class CpuGemmEngine final : public GemmEngine {
 public:
#ifdef _OPENMP
  CpuGemmEngine() : threads_(omp_get_max_threads()) {}
#endif

  void run(const GemmShape& s, DataType dtype, const void* a, const void* b, void* c, float beta,
           Stream& stream) override {
    AWSDT_CHECK(dtype == DataType::f32, "CPU GEMMs run in float");
    const int lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
    const auto* A = static_cast<const float*>(a);
    const auto* B = static_cast<const float*>(b);
    auto* C = static_cast<float*>(c);
    on_cpu_stream(stream, [=, threads = threads_] {
      apply_threads(threads);
      cpu::gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, A, lda, B, ldb, beta, C, s.n);
    });
  }

 private:
  static void apply_threads([[maybe_unused]] int threads) {
#ifdef _OPENMP
    thread_local int applied = 0;
    if (applied != threads) omp_set_num_threads(applied = threads);
#endif
  }

  int threads_ = 1;
};

}  // namespace

bool gemm_supports(const Device& device, DataType dtype) {
  if (!device.is_cuda()) return dtype == DataType::f32;
  return dtype == DataType::bf16 || dtype == DataType::f16;
}

const char* gemm_dtypes(const Device& device) { return device.is_cuda() ? "bfloat16, half" : "float"; }

std::unique_ptr<GemmEngine> make_gemm_engine(const Device& device) {
  if (!device.is_cuda()) return std::make_unique<CpuGemmEngine>();
  if constexpr (AWSDT_HAVE_CUDA) return cuda::make_lt_gemm_engine(device);
  throw UsageError("this build of awsdt has no CUDA support (configured without CUDA): GEMMs run on the CPU only");
}

void add_into(void* dst, const void* src, std::size_t n, DataType dtype, Stream& stream) {
  if constexpr (AWSDT_HAVE_CUDA)
    if (stream.device().is_cuda()) return cuda::add_into(dst, src, n, dtype, stream.native_handle());
  AWSDT_CHECK(dtype == DataType::f32, "CPU additions run in float");
  auto* d = static_cast<float*>(dst);
  const auto* x = static_cast<const float*>(src);
  on_cpu_stream(stream, [=] {
    for (std::size_t i = 0; i < n; ++i) d[i] += x[i];
  });
}

}  // namespace awsdt::kernels
