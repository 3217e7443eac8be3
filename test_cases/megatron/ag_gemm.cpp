// ag_gemm: rank r holds rows r·M/tp.. of A (its sequence shard) and columns r·N/tp.. of B (column-parallel);
// C = all-gather(A)·B_r, [M, N/tp].
#include "patterns.hpp"

namespace awsdt::megatron {

PatternMath ag_gemm_math(parallel::GemmDims d, int tp, int rank, std::uint32_t a_id, std::uint32_t b_id) {
  const int Mb = d.m / tp, Nl = d.n / tp;
  const Block a{a_id, std::int64_t(rank) * Mb, 0, Mb, d.k}, b{b_id, 0, std::int64_t(rank) * Nl, d.k, Nl};
  const Block a_all{a_id, 0, 0, d.m, d.k};
  return {a, b, [=](std::int64_t i, std::int64_t j) { return reference_dot(a_all, i, b, b.col0 + j, d.k, false); }};
}

}  // namespace awsdt::megatron
