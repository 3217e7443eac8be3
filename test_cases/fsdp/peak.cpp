// sgemm calibration and BLAS threads.
#include "peak.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "awsdt/config.hpp"
#include "kernels/cpu/llama_gemm.hpp"

#if AWSDT_HAVE_BLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace awsdt::fsdp {

void set_blas_threads(int threads) {
  if (threads <= 0) return;
#ifdef _OPENMP
  omp_set_num_threads(threads);  // the engine's own loops: the same cores as the GEMMs, one after the other
#endif
#if AWSDT_HAVE_BLAS
  openblas_set_num_threads(threads);
#endif
}

int blas_threads() {
#if AWSDT_HAVE_BLAS
  return openblas_get_num_threads();
#else
  return 1;
#endif
}

SgemmPeak measure_sgemm_peak(int n, double seconds) {
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  std::vector<float> a(nn), b(nn), c(nn, 0.0f);
  for (std::size_t i = 0; i < nn; ++i) {
    a[i] = static_cast<float>((i * 7 % 13) - 6) * 0.01f;
    b[i] = static_cast<float>((i * 5 % 11) - 5) * 0.01f;
  }
  auto once = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    kernels::cpu::gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  once();  // warm-up: thread pool start, page faults
  const double flops = 2.0 * n * static_cast<double>(n) * n;
  SgemmPeak p;
  p.n = n;
  double total = 0, best = 1e300;
  while (p.runs < 3 || total < seconds) {
    const double t = once();
    total += t;
    best = std::min(best, t);
    ++p.runs;
  }
  p.best_flops = flops / best;
  p.mean_flops = flops * p.runs / total;
  return p;
}

}  // namespace awsdt::fsdp
