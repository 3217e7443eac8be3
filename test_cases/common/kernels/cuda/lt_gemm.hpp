// cuBLASLt GEMMs in column-major terms, for the layers (linear.hpp) and the row-major GemmEngine (kernels/gemm.hpp).
// CUDA types never appear here.
#pragma once

#include <cstddef>
#include <memory>

#include "comm/dtype.hpp"

namespace awsdt::kernels::cuda {

/// A cuBLASLt handle, its workspace and the algorithms chosen so far, for one device; one per stream that runs GEMMs.
class LtGemm {
 public:
  LtGemm();
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  /// Column-major D[m,n] = op(A)·op(B) + β·D with fp32 accumulation: A stored [k,m] when trans_a else [m,k]
  /// (likewise B), inputs in `in` (bf16 or f16), D in `out` (the input type or f32). Enqueued on `stream`.
  void run(int m, int n, int k, bool trans_a, bool trans_b, DataType in, DataType out, const void* a, const void* b,
           void* c, float beta, void* stream);

  /// GPU memory each instance holds for cuBLASLt's workspace.
  static std::size_t workspace_bytes();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace awsdt::kernels::cuda
