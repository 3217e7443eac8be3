// Multi-rank failures end the job with a message naming the rank, in bounded time: a rank killed mid-collective,
// and a rank that stops participating (caught by the watchdog). Runs mpirun on the probe program.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include "awsdt/config.hpp"
#include "util/error.hpp"

namespace {

struct Outcome {
  int status = -1;
  std::string output;
  double seconds = 0;
};

Outcome run(const std::string& args) {
  std::string cmd = std::string("timeout 60 ") + AWSDT_MPIRUN +
                    " --oversubscribe --allow-run-as-root --mca btl self,vader,tcp --mca btl_tcp_if_include lo"
                    " --mca oob_tcp_if_include lo -np 3 " PROBE_PATH " " + args + " 2>&1";
  auto t0 = std::chrono::steady_clock::now();
  Outcome o;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), p)) o.output += buf.data();
  int raw = ::pclose(p);
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

}  // namespace

TEST(MpiFailures, HealthyRunSucceeds) {
  auto o = run("--mode none --iters 20");
  EXPECT_EQ(o.status, 0) << o.output;
}

TEST(MpiFailures, KilledRankEndsTheJobNamingIt) {
  auto o = run("--mode die --victim 1 --at 5 --iters 100000");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung until the test's timeout:\n" << o.output;
  EXPECT_LT(o.seconds, 30.0);
  EXPECT_NE(o.output.find("rank 1"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find(awsdt::host_name()), std::string::npos) << o.output;
}

TEST(MpiFailures, StuckRankIsCaughtByTheWatchdog) {
  auto o = run("--mode hang --victim 2 --at 3 --timeout 2 --iters 100000");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung until the test's timeout:\n" << o.output;
  EXPECT_LT(o.seconds, 30.0);
  EXPECT_NE(o.output.find("did not complete within 2.0 s"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("on " + awsdt::host_name()), std::string::npos) << o.output;
}
