// The CPU's achievable fp32 matmul rate, measured by a short sgemm calibration (the MFU denominator on CPU),
// and the BLAS thread count.
#pragma once

#include <string>

#include "device/device.hpp"

namespace awsdt {

/// Debian 12's OpenBLAS (0.3.21) picks its kernels from the CPU model when it loads and does not know recent
/// Xeons: under a hypervisor that reports a generic model (AWS's Sapphire Rapids instances, this build machine)
/// it falls back to its Prescott (SSE3) kernels, which run sgemm at a fifth of the AVX-512 ones. When the
/// loaded kernels are such a fallback and the CPU has AVX-512 (or AVX2 and FMA), this re-executes the program
/// with OPENBLAS_CORETYPE=SkylakeX (Haswell), which OpenBLAS reads at load; nothing happens when the user set
/// OPENBLAS_CORETYPE. Call first in main, before any thread, communicator or output; returns when no re-exec
/// is needed (or it failed).
void select_blas_kernels(char** argv);
/// The kernels OpenBLAS runs (its core name, e.g. "SkylakeX"); "none" without BLAS.
std::string blas_core();

/// Result of a calibration.
struct SgemmPeak {
  int n = 0;                ///< square matrix size used
  int runs = 0;             ///< timed multiplications
  double median_flops = 0;  ///< FLOP/s of the median run (the peak used for MFU: robust to one lucky run)
  double best_flops = 0;    ///< FLOP/s of the fastest run
  double mean_flops = 0;    ///< total FLOPs / total time over the timed runs
};

/// Sets the BLAS library's threads (openblas_set_num_threads); 0 leaves the default. No-op without BLAS.
void set_blas_threads(int threads);  // and OpenMP's, for the engine's other loops
/// The BLAS library's thread count (1 without BLAS).
int blas_threads();
/// Times C = A·B with n×n fp32 matrices (the engine's gemm: cblas_sgemm when built with BLAS) for about
/// `seconds` after one warm-up run (at least three timed runs).
SgemmPeak measure_sgemm_peak(int n = 1024, double seconds = 0.5);

/// What MFU and % of peak are measured against, per rank.
struct ComputePeak {
  double flops = 0;    ///< per rank (0: unknown, MFU reported as 0)
  std::string source;  ///< what the figure is: "sgemm calibration median" or "instance catalog"
  std::string line;    ///< how it was found, for the log
};

/// The CPU's: sets the BLAS threads, then an sgemm calibration at n (capped at 256 without BLAS).
ComputePeak cpu_compute_peak(int calibrate_n, int threads);
/// A GPU's: the instance catalog's dense bf16 peak for the device's model (results/catalog.hpp).
ComputePeak gpu_compute_peak(const Device& gpu);

}  // namespace awsdt
