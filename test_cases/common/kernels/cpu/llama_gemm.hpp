// Row-major GEMM for the Llama layers: OpenBLAS cblas_sgemm for float (plain loops when built without BLAS),
// plain loops for double (the float64 path exists only so gradient tests can use finite differences).
#pragma once

namespace awsdt::kernels::cpu {

/// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major; op(X) is X or Xᵀ; ld* are row strides.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);
/// The same in float64 with plain loops.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
          int ldb, double beta, double* C, int ldc);

}  // namespace awsdt::kernels::cpu
