// The collectives' test pattern stays exact at any scale: a sum (or avg) accumulated rank by rank in the
// element type, rounding after every addition as a ring does, matches the expectation for every rank count up
// to 1,024; with every rank contributing (the old pattern) bf16 sums already fail at 192 ranks, which shows the
// simulation can fail. Independent of the GPU: this is the arithmetic NCCL's kernels do.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/pattern.hpp"

using awsdt::DataType;
using awsdt::ReduceOp;
namespace k = awsdt::kernels;

namespace {

double round_to(DataType t, double v) {
  unsigned char slot[8];
  k::store_element(slot, 0, t, v);
  return k::load_element(slot, 0, t);
}

// Elements (of 512) a rank-by-rank accumulation in `t` gets wrong. avg pre-multiplies each input by 1/n, as
// NCCL does for floating types.
int mismatches(DataType t, ReduceOp op, int nranks, const k::Pattern& pattern, double tolerance) {
  const double scale = op == ReduceOp::avg ? round_to(t, 1.0 / nranks) : 1.0;
  int wrong = 0;
  for (std::size_t i = 0; i < 512; ++i) {
    double acc = 0;
    for (int r = 0; r < nranks; ++r) acc = round_to(t, acc + round_to(t, k::pattern_value(pattern, r, i) * scale));
    unsigned char got[8];
    k::store_element(got, 0, t, acc);
    const k::Expectation e{true, op, nranks, i, 0, 0, pattern, tolerance};
    wrong += k::element_matches(got, 0, t, e) ? 0 : 1;
  }
  return wrong;
}

}  // namespace

TEST(CollectivePattern, SumsAreExactAtEveryScale) {
  for (DataType t : {DataType::bf16, DataType::f16, DataType::f32})
    for (int n : {2, 8, 85, 86, 176, 192, 1024}) {
      const k::Pattern p = k::pattern_for(t, true, ReduceOp::sum, 7, n);
      EXPECT_EQ(mismatches(t, ReduceOp::sum, n, p, 0.0), 0) << awsdt::dtype_name(t) << " over " << n << " ranks";
    }
}

TEST(CollectivePattern, EveryRankContributingWouldOverflowBf16) {
  k::Pattern p = k::pattern_for(DataType::bf16, true, ReduceOp::sum, 7, 192);
  EXPECT_LT(p.active_ranks, 192u);
  p.active_ranks = 0xffffffffu;
  EXPECT_GT(mismatches(DataType::bf16, ReduceOp::sum, 192, p, 0.0), 0);
}

TEST(CollectivePattern, SmallJobsKeepEveryRankContributing) {
  EXPECT_GE(k::pattern_for(DataType::bf16, true, ReduceOp::sum, 7, 64).active_ranks, 64u);
  EXPECT_GE(k::pattern_for(DataType::f32, true, ReduceOp::sum, 7, 1024).active_ranks, 1024u);
}

TEST(CollectivePattern, AvgStaysWithinATightTolerance) {
  for (DataType t : {DataType::bf16, DataType::f16, DataType::f32})
    for (int n : {3, 8, 100, 176, 1000}) {
      const k::Pattern p = k::pattern_for(t, true, ReduceOp::avg, 7, n);
      const int mantissa = t == DataType::f32 ? 23 : t == DataType::f16 ? 10 : 7;
      const double tolerance = std::min<double>(n, p.active_ranks) * std::ldexp(1.0, -mantissa);
      EXPECT_LE(tolerance, 8 * std::ldexp(1.0, -7));  // 6.25% for bf16, not the 100%+ of n roundings
      EXPECT_EQ(mismatches(t, ReduceOp::avg, n, p, tolerance), 0) << awsdt::dtype_name(t) << " over " << n;
    }
}
