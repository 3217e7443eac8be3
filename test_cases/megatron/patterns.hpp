// What each pattern means for the operands of one rank: which blocks of the global A and B it holds, and the
// float64 value its C must hold at (i, j). One thin file per pattern (ag_gemm.cpp, gemm_rs.cpp, gemm_ar.cpp).
#pragma once

#include <cstdint>
#include <functional>

#include "operands.hpp"
#include "parallel/tp_gemm.hpp"

namespace awsdt::megatron {

struct PatternMath {
  Block a, b;  ///< this rank's blocks of the global A (id a_id) and B (id b_id)
  std::function<double(std::int64_t i, std::int64_t j)> reference;  ///< C(i, j) of this rank, in float64
};

PatternMath ag_gemm_math(parallel::GemmDims d, int tp, int rank, std::uint32_t a_id, std::uint32_t b_id);
PatternMath gemm_rs_math(parallel::GemmDims d, int tp, int rank, std::uint32_t a_id, std::uint32_t b_id);
PatternMath gemm_ar_math(parallel::GemmDims d, int tp, int rank, std::uint32_t a_id, std::uint32_t b_id);
PatternMath pattern_math(parallel::TpPattern p, parallel::GemmDims d, int tp, int rank, std::uint32_t a_id,
                         std::uint32_t b_id);

}  // namespace awsdt::megatron
