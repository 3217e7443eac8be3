// StepSeries and step_rates: the figures behind every step line and the summary's medians.
#include <gtest/gtest.h>

#include "train/report.hpp"
#include "train/step_series.hpp"

namespace awsdt::train {
namespace {

FsdpStepStats stats(double step_ms, double wait_ms) {
  FsdpStepStats fs;
  fs.base.step_ms = step_ms;
  fs.base.compute_ms = step_ms - 10;
  fs.base.loss = 2.5;
  fs.comm_wait_ms = wait_ms;
  fs.bytes_all_gathered = 1 << 20;
  return fs;
}

TEST(StepRates, AreGlobalTokensAndPerDeviceTokensFlopsAndMfu) {
  // 2048 tokens and 3.2e14 FLOPs in 500 ms on 4 ranks of 1e15 FLOP/s each: 4096 tokens/s, 1024 per device,
  // 160 TFLOP/s per device (torchtitan's and Megatron's convention: not the 640 of all four), 16%.
  const StepRates r = step_rates(500.0, 3.2e14, 2048, 1e15, 4);
  EXPECT_DOUBLE_EQ(r.tokens_per_s, 4096.0);
  EXPECT_DOUBLE_EQ(r.tokens_per_s_per_device, 1024.0);
  EXPECT_DOUBLE_EQ(r.tflops_per_device, 160.0);
  EXPECT_DOUBLE_EQ(r.mfu_percent, 16.0);
  EXPECT_FALSE(step_rates(500.0, 3.2e14, 2048, 0.0, 4).has_mfu());  // no peak known: no MFU (not 0%)
}

TEST(StepSeries, RowsHoldEveryStepAndMediansOnlyTheCountedOnes) {
  StepSeries series;
  series.add(1, stats(900, 50), step_rates(900, 1e12, 1000, 1e13, 1), 40, false);  // warm-up
  series.add(2, stats(100, 5), step_rates(100, 1e12, 1000, 1e13, 1), 4, true);
  series.add(3, stats(300, 7), step_rates(300, 1e12, 1000, 1e13, 1), 6, true);
  series.add(4, stats(200, 9), step_rates(200, 1e12, 1000, 1e13, 1), 8, true);
  ASSERT_EQ(series.rows().size(), 4u);
  EXPECT_EQ(series.rows()[0].at("step"), 1);
  EXPECT_DOUBLE_EQ(series.rows()[0].at("step_ms").get<double>(), 900.0);
  EXPECT_EQ(series.rows()[3].at("bytes_all_gathered"), 1 << 20);
  EXPECT_EQ(series.step_ms().count, 3u);
  EXPECT_DOUBLE_EQ(series.step_ms().p50, 200.0);
  EXPECT_DOUBLE_EQ(series.compute_ms().p50, 190.0);
  EXPECT_DOUBLE_EQ(series.tokens_per_s().p50, 5000.0);             // 1000 tokens in 200 ms
  EXPECT_DOUBLE_EQ(series.tokens_per_s_per_device().p50, 5000.0);  // one rank
  EXPECT_DOUBLE_EQ(series.tflops_per_device().p50, 5.0);
  EXPECT_DOUBLE_EQ(series.exposed_comm_ms().p50, 6.0);
  EXPECT_DOUBLE_EQ(series.comm_wait_ms().p50, 7.0);
  EXPECT_DOUBLE_EQ(series.mfu().p50, 50.0);  // 5 TFLOP/s of 10
}

}  // namespace
}  // namespace awsdt::train

// A negative exposed-communication difference is noise: the comm line prints it as measured and marks it invalid.
TEST(CommLine, PrintsANegativeExposedFigureMarkedInvalid) {
  awsdt::train::FsdpStepStats fs;
  fs.base.compute_ms = 9.5;
  const std::string negative = awsdt::train::comm_line(3, 10, fs, -0.5, 10.0, false);
  EXPECT_NE(negative.find("exposed comm: -0.50 ms (fwd+bwd 9.50 ms - compute-only 10.00 ms, invalid: negative)"),
            std::string::npos)
      << negative;
  const std::string positive = awsdt::train::comm_line(3, 10, fs, 0.5, 9.0, false);
  EXPECT_EQ(positive.find("invalid"), std::string::npos) << positive;
}
