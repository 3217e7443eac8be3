// LrSchedule at known steps for each decay shape, and its validation.
#include <gtest/gtest.h>

#include "nn/lr_schedule.hpp"
#include "util/error.hpp"

namespace awsdt::nn {
namespace {

LrSchedule make(LrDecay d) { return LrSchedule{1.0, 0.1, 10, 111, d}; }  // decay phase: steps 10..110 (span 100)

TEST(LrSchedule, WarmupIsLinearFromLrOverWarmup) {
  const LrSchedule s = make(LrDecay::cosine);
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(4), 0.5);
  EXPECT_DOUBLE_EQ(s.at(9), 1.0);
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);
}

TEST(LrSchedule, CosineDecay) {
  const LrSchedule s = make(LrDecay::cosine);
  EXPECT_NEAR(s.at(35), 0.1 + 0.45 * (1 + 0.70710678118654752), 1e-12);  // p = 1/4
  EXPECT_NEAR(s.at(60), 0.55, 1e-12);                                    // p = 1/2
  EXPECT_NEAR(s.at(110), 0.1, 1e-12);                                    // last step
  EXPECT_NEAR(s.at(500), 0.1, 1e-12);                                    // beyond: clamped
}

TEST(LrSchedule, LinearDecay) {
  const LrSchedule s = make(LrDecay::linear);
  EXPECT_NEAR(s.at(35), 0.775, 1e-12);
  EXPECT_NEAR(s.at(60), 0.55, 1e-12);
  EXPECT_NEAR(s.at(110), 0.1, 1e-12);
}

TEST(LrSchedule, ConstantAfterWarmup) {
  const LrSchedule s = make(LrDecay::constant);
  EXPECT_DOUBLE_EQ(s.at(4), 0.5);
  EXPECT_DOUBLE_EQ(s.at(35), 1.0);
  EXPECT_DOUBLE_EQ(s.at(110), 1.0);
}

TEST(LrSchedule, NoWarmupStartsAtPeak) {
  const LrSchedule s{2.0, 0.0, 0, 5, LrDecay::linear};
  EXPECT_DOUBLE_EQ(s.at(0), 2.0);
  EXPECT_DOUBLE_EQ(s.at(2), 1.0);
  EXPECT_DOUBLE_EQ(s.at(4), 0.0);
  const LrSchedule one{2.0, 0.0, 0, 1, LrDecay::cosine};  // a one-step run stays at the peak
  EXPECT_DOUBLE_EQ(one.at(0), 2.0);
}

TEST(LrSchedule, ParsesAndValidates) {
  EXPECT_EQ(parse_lr_decay("linear"), LrDecay::linear);
  EXPECT_THROW(parse_lr_decay("step"), UsageError);
  EXPECT_THROW((LrSchedule{1.0, 2.0, 0, 10, LrDecay::cosine}.validate()), UsageError);
  EXPECT_THROW((LrSchedule{1.0, 0.0, -1, 10, LrDecay::cosine}.validate()), UsageError);
  EXPECT_NO_THROW((LrSchedule{1.0, 0.0, 0, 10, LrDecay::cosine}.validate()));
}

}  // namespace
}  // namespace awsdt::nn
