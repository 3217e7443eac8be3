// Watchdog: phases that end in time never fire it, however many; one that does not ends the process with
// status 1 and a line naming the phase and the timeout (a death test: the watchdog really exits).
#include <gtest/gtest.h>

#include <chrono>
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
