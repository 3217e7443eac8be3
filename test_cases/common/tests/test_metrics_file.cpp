// Metrics files: what --metrics-file writes, read back from disk and checked line by line against the text the
// exposition format prescribes (spelled out here, not produced by the writer's own helpers).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "bench/metrics_file.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using awsdt::MetricsFile;
using awsdt::MetricValue;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MetricsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("awsdt_metrics_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ::setenv("AWSDT_METRICS_JOB", "job-7", 1);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    ::unsetenv("AWSDT_METRICS_JOB");
  }
  fs::path dir_;
};

TEST_F(MetricsFileTest, WritesTextfileFormatWithJobAndRankLabels) {
  MetricsFile f((dir_ / "fsdp.prom").string(), "fsdp", 0);
  ASSERT_TRUE(f.enabled());
  const auto before = std::chrono::system_clock::now();
  f.write({{"awsdt_loss", "Loss of the last step.", 2.5},
           {"awsdt_busbw_bytes_per_second", "Bus bandwidth.", 1e9, {{"collective", "all_reduce"}}},
           {"awsdt_busbw_bytes_per_second", "Bus bandwidth.", 2e9, {{"collective", "all_gather"}}}});
  const std::string text = slurp(dir_ / "fsdp.prom");
  // The write's time, as whole seconds (the rest of the text is compared exactly).
  const auto at = text.rfind("} ") + 2;
  const long stamp = std::stol(text.substr(at));
  EXPECT_NEAR(double(stamp), std::chrono::duration<double>(before.time_since_epoch()).count(), 5);
  EXPECT_EQ(text.substr(0, at) + std::to_string(stamp) + "\n",
            "# HELP awsdt_loss Loss of the last step.\n"
            "# TYPE awsdt_loss gauge\n"
            "awsdt_loss{benchmark=\"fsdp\",job=\"job-7\",rank=\"0\"} 2.5\n"
            "# HELP awsdt_busbw_bytes_per_second Bus bandwidth.\n"
            "# TYPE awsdt_busbw_bytes_per_second gauge\n"
            "awsdt_busbw_bytes_per_second{benchmark=\"fsdp\",job=\"job-7\",rank=\"0\",collective=\"all_reduce\"} "
            "1000000000\n"
            "awsdt_busbw_bytes_per_second{benchmark=\"fsdp\",job=\"job-7\",rank=\"0\",collective=\"all_gather\"} "
            "2000000000\n"
            "# HELP awsdt_step_timestamp_seconds When the benchmark logged its last step (Unix time).\n"
            "# TYPE awsdt_step_timestamp_seconds gauge\n"
            "awsdt_step_timestamp_seconds{benchmark=\"fsdp\",job=\"job-7\",rank=\"0\"} " +
                std::to_string(stamp) + "\n");
}

TEST_F(MetricsFileTest, RewritesInPlaceAndLeavesNoTemporaryFiles) {
  MetricsFile f((dir_ / "m.prom").string(), "fsdp", 0);
  for (int step = 1; step <= 50; ++step) f.write({{"awsdt_step", "Step.", double(step)}});
  EXPECT_NE(slurp(dir_ / "m.prom").find("} 50\n"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
}

TEST_F(MetricsFileTest, SpecialValuesAndEscapedLabels) {
  MetricsFile f((dir_ / "m.prom").string(), "x", 0);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  f.write({{"a", "h", nan}, {"b", "h", inf}, {"c", "h", -inf}, {"d", "h", 0.1, {{"k", "q\"b\\s\nn"}}}});
  const std::string text = slurp(dir_ / "m.prom");
  EXPECT_NE(text.find("} NaN\n"), std::string::npos);
  EXPECT_NE(text.find("} +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("} -Inf\n"), std::string::npos);
  EXPECT_NE(text.find("k=\"q\\\"b\\\\s\\nn\"} 0.1\n"), std::string::npos) << text;
}

TEST_F(MetricsFileTest, RankPlaceholderAndRankZeroOnly) {
  EXPECT_FALSE(MetricsFile((dir_ / "m.prom").string(), "x", 1).enabled());
  MetricsFile r3((dir_ / "m.{rank}.prom").string(), "x", 3);
  ASSERT_TRUE(r3.enabled());
  EXPECT_EQ(r3.path(), (dir_ / "m.3.prom").string());
  r3.write({{"awsdt_step", "Step.", 1}});
  EXPECT_NE(slurp(dir_ / "m.3.prom").find("rank=\"3\""), std::string::npos);
  EXPECT_FALSE(MetricsFile("", "x", 0).enabled());
}

TEST_F(MetricsFileTest, MissingDirectoryIsAUsageErrorNamingIt) {
  try {
    MetricsFile((dir_ / "nope" / "m.prom").string(), "x", 0);
    FAIL() << "no error";
  } catch (const awsdt::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
}

TEST(MetricsJobLabel, FromSchedulerEnvironment) {
  ::unsetenv("AWSDT_METRICS_JOB");
  ::setenv("SLURM_JOB_ID", "1234", 1);
  EXPECT_EQ(awsdt::metrics_job_label(), "1234");
  ::unsetenv("SLURM_JOB_ID");
  ::unsetenv("AWS_BATCH_JOB_ID");
  ::setenv("AWSDT_JOB_DIR", "/jobs/fsdp-20240101-3/", 1);
  EXPECT_EQ(awsdt::metrics_job_label(), "fsdp-20240101-3");
  ::unsetenv("AWSDT_JOB_DIR");
  EXPECT_EQ(awsdt::metrics_job_label(), "local");
}

}  // namespace
