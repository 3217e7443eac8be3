// gemm_rs: rank r holds columns r·K/tp.. of A and rows r·K/tp.. of B (row-parallel); C = the sum over ranks of
// A_r·B_r, reduce-scattered over rows: this rank's rows r·M/tp.., [M/tp, N].
#include "patterns.hpp"

namespace awsdt::megatron {

PatternMath gemm_rs_math(parallel::GemmDims d, int tp, int rank, std::uint32_t a_id, std::uint32_t b_id) {
  const int Mb = d.m / tp, Kl = d.k / tp;
  const Block a{a_id, 0, std::int64_t(rank) * Kl, d.m, Kl}, b{b_id, std::int64_t(rank) * Kl, 0, Kl, d.n};
  const Block a_all{a_id, 0, 0, d.m, d.k}, b_all{b_id, 0, 0, d.k, d.n};
  const std::int64_t row0 = std::int64_t(rank) * Mb;
  return {a, b, [=](std::int64_t i, std::int64_t j) { return reference_dot(a_all, row0 + i, b_all, j, d.k, false); }};
}

}  // namespace awsdt::megatron
