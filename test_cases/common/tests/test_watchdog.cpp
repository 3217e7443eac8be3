// Watchdog: phases that end in time never fire it, however many; one that does not ends the process with
// status 1 and a line naming the phase and the timeout (a death test: the watchdog really exits). A fault
// probe is polled only while a phase runs, and its first fault ends the process long before any deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench/watchdog.hpp"

using awsdt::Watchdog;
using namespace std::chrono_literals;

TEST(Watchdog, PhasesThatEndInTimeNeverFire) {
  Watchdog w(0.3);
  for (int i = 0; i < 20; ++i) {  // 20 phases of 50 ms: 1 s in all, each far inside its 0.3 s
    w.arm("phase " + std::to_string(i));
    std::this_thread::sleep_for(50ms);
    w.disarm();
  }
  std::this_thread::sleep_for(500ms);  // disarmed: idle time does not count
  SUCCEED();
}

TEST(Watchdog, RearmingRestartsTheDeadline) {
  Watchdog w(0.3);
  for (int i = 0; i < 8; ++i) {  // never disarmed, but re-armed every 0.1 s
    w.arm("step " + std::to_string(i));
    std::this_thread::sleep_for(100ms);
  }
  w.disarm();
  SUCCEED();
}

TEST(WatchdogDeathTest, AStuckPhaseEndsTheProcessNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Watchdog w(0.2);
        w.arm("step 7");
        std::this_thread::sleep_for(5s);
      },
      ::testing::ExitedWithCode(1), "error: rank .* step 7 did not finish within 0.2 s");
}

TEST(Watchdog, ZeroTimeoutNeverFires) {
  Watchdog w(0);
  w.arm("forever");
  std::this_thread::sleep_for(100ms);
  SUCCEED();
}

TEST(Watchdog, AHealthyProbeIsPolledOnlyWhileAPhaseRuns) {
  std::atomic<int> polls{0};
  {
    Watchdog w(0, [&] {
      ++polls;
      return std::string();
    });
    std::this_thread::sleep_for(300ms);  // no phase yet: no polling
    EXPECT_EQ(polls.load(), 0);
    w.arm("step 1");
    std::this_thread::sleep_for(550ms);  // every 100 ms: about 5 polls
    w.disarm();
    const int during = polls.load();
    EXPECT_GE(during, 3);
    EXPECT_LE(during, 7);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(polls.load(), during);
  }
}

TEST(WatchdogDeathTest, AFaultEndsThePhaseLongBeforeItsDeadline) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::atomic<int> polls{0};
        // A deadline of an hour: only the probe can end this within the test's seconds.
        Watchdog w(3600, [&] { return ++polls >= 3 ? std::string("NCCL: remote process exited") : std::string(); });
        w.arm("step 4");
        std::this_thread::sleep_for(5s);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(1), "error: rank .*: step 4 failed: NCCL: remote process exited; aborting the job");
}
