// sgemm calibration and BLAS threads.
#include "bench/peak.hpp"

#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "kernels/cpu/llama_gemm.hpp"
#include "results/catalog.hpp"

#if AWSDT_HAVE_BLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace awsdt {

void select_blas_kernels(char** argv) {
#if AWSDT_HAVE_BLAS && defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("AWSDT_BLAS_REEXEC")) return;  // chosen, or tried once
  const std::string core = openblas_get_corename();
  // OpenBLAS's fallbacks for a CPU it cannot name: families from before AVX.
  bool fallback = false;
  for (const char* old : {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine",
                          "northwood", "banias", "unknown"})
    fallback = fallback || strcasecmp(core.c_str(), old) == 0;
  if (!fallback) return;
  __builtin_cpu_init();
  const char* better = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    better = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    better = "Haswell";
  }
  if (!better) return;
  setenv("OPENBLAS_CORETYPE", better, 1);
  setenv("AWSDT_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then keep the kernels we have
  unsetenv("OPENBLAS_CORETYPE");
#else
  (void)argv;
#endif
}

std::string blas_core() {
#if AWSDT_HAVE_BLAS
  return openblas_get_corename();
#else
  return "none";
#endif
}

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
  double total = 0;
  std::vector<double> times;
  while (p.runs < 3 || total < seconds) {
    times.push_back(once());
    total += times.back();
    ++p.runs;
  }
  std::sort(times.begin(), times.end());
  p.median_flops = flops / times[times.size() / 2];
  p.best_flops = flops / times.front();
  p.mean_flops = flops * p.runs / total;
  return p;
}

ComputePeak cpu_compute_peak(int calibrate_n, int threads) {
  set_blas_threads(threads);
  const SgemmPeak peak = measure_sgemm_peak(AWSDT_HAVE_BLAS ? calibrate_n : std::min(calibrate_n, 256), 0.5);
  return {peak.median_flops, "sgemm calibration median",
          fmt::format("sgemm peak: {:.2f} GFLOP/s (median of {} runs, n={}, {} BLAS thread(s); best {:.2f}, mean "
                      "{:.2f} GFLOP/s)",
                      peak.median_flops / 1e9, peak.runs, peak.n, blas_threads(), peak.best_flops / 1e9,
                      peak.mean_flops / 1e9) +
              " | OpenBLAS kernels: " + blas_core()};
}

ComputePeak gpu_compute_peak(const Device& gpu) {
  const std::string name = device_description(gpu);
  const std::optional<double> tflops = gpu_peak_tflops(name, embedded_instance_catalog());
  return {tflops ? *tflops * 1e12 : 0.0, tflops ? "instance catalog" : "unknown",
          fmt::format("device: {} | peak bf16: {}", name,
                      tflops ? fmt::format("{:.0f} TFLOP/s (instance catalog)", *tflops)
                             : "not in the instance catalog (MFU not reported)")};
}

}  // namespace awsdt
