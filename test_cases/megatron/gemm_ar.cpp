// gemm_ar: operands as gemm_rs (row-parallel); C = the all-reduced sum over ranks of A_r·B_r, [M, N] (TP without
// sequence parallelism).
#include "patterns.hpp"

namespace awsdt::megatron {

PatternMath gemm_ar_math(parallel::GemmDims d, int tp, int rank, std::uint32_t a_id, std::uint32_t b_id) {
  PatternMath m = gemm_rs_math(d, tp, rank, a_id, b_id);
  const Block a_all{a_id, 0, 0, d.m, d.k}, b_all{b_id, 0, 0, d.k, d.n};
  m.reference = [=](std::int64_t i, std::int64_t j) { return reference_dot(a_all, i, b_all, j, d.k, false); };
  return m;
}

PatternMath pattern_math(parallel::TpPattern p, parallel::GemmDims d, int tp, int rank, std::uint32_t a_id,
                         std::uint32_t b_id) {
  switch (p) {
    case parallel::TpPattern::ag_gemm: return ag_gemm_math(d, tp, rank, a_id, b_id);
    case parallel::TpPattern::gemm_rs: return gemm_rs_math(d, tp, rank, a_id, b_id);
    case parallel::TpPattern::gemm_ar: return gemm_ar_math(d, tp, rank, a_id, b_id);
  }
  return {};
}

}  // namespace awsdt::megatron
