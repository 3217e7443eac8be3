// Row-major GEMM: cblas_sgemm when OpenBLAS is available, a plain triple loop otherwise (and always for double).
#include "kernels/cpu/llama_gemm.hpp"

#include <cstddef>

#include "awsdt/config.hpp"

#if AWSDT_HAVE_BLAS
#include <cblas.h>
#endif

namespace awsdt::kernels::cpu {
namespace {

// The reference loop: accumulates each C element in T, in k order.
template <typename T>
void gemm_loops(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb,
                T beta, T* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      T sum = 0;
      for (int k = 0; k < K; ++k) {
        T a = trans_a ? A[static_cast<std::size_t>(k) * lda + i] : A[static_cast<std::size_t>(i) * lda + k];
        T b = trans_b ? B[static_cast<std::size_t>(j) * ldb + k] : B[static_cast<std::size_t>(k) * ldb + j];
        sum += a * b;
      }
      T& c = C[static_cast<std::size_t>(i) * ldc + j];
      c = alpha * sum + (beta == T(0) ? T(0) : beta * c);
    }
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
#if AWSDT_HAVE_BLAS
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, lda, B, ldb, beta, C, ldc);
#else
  gemm_loops(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
          int ldb, double beta, double* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_loops(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace awsdt::kernels::cpu
