// Multi-rank failures end the job with a message naming the rank, in bounded time: a rank killed mid-collective,
// and a rank that stops participating (caught by the watchdog). Runs mpirun on the probe program.
#include <gtest/gtest.h>

#include <string>

#include "support/executables.hpp"
#include "support/run_command.hpp"
#include "util/error.hpp"

namespace {
awsdt::testing::Outcome run(const std::string& args) {
  return awsdt::testing::run_command(
      awsdt::testing::mpirun(3) + awsdt::testing::built_executable("awsdt_comm_probe") + " " + args, 60);
}
}  // namespace

TEST(MpiFailures, HealthyRunSucceeds) {
  auto o = run("--mode none --iters 20");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output.find("ended before the job did"), std::string::npos) << o.output;  // a clean end is no loss
}

TEST(MpiFailures, KilledRankEndsTheJobNamingIt) {
  auto o = run("--mode die --victim 1 --at 5 --iters 100000");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung until the test's timeout:\n" << o.output;
  EXPECT_LT(o.seconds, 30.0);
  // Named by the survivors themselves (the peer watch), not only by mpirun's own notice.
  EXPECT_NE(o.output.find("awsdt: rank 1 on " + awsdt::host_name() + " ended before the job did; ending rank "),
            std::string::npos)
      << o.output;
}

TEST(MpiFailures, BadInputOnOneRankIsPrintedByIt) {
  // Rank 1 alone refuses its input: its peers must not end it (nor take it for lost) before it has said why.
  auto o = run("--mode usage --victim 1 --at 3 --timeout 30 --iters 100000");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung until the test's timeout:\n" << o.output;
  EXPECT_LT(o.seconds, 30.0);
  EXPECT_NE(o.output.find("error: rank 1 on " + awsdt::host_name() + ": bad input seen by this rank only"),
            std::string::npos)
      << o.output;
}

TEST(MpiFailures, StuckRankIsCaughtByTheWatchdog) {
  auto o = run("--mode hang --victim 2 --at 3 --timeout 2 --iters 100000");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung until the test's timeout:\n" << o.output;
  EXPECT_LT(o.seconds, 30.0);
  EXPECT_NE(o.output.find("did not complete within 2.0 s"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("on " + awsdt::host_name()), std::string::npos) << o.output;
}
