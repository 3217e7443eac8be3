// CPU streams and events: FIFO order, error propagation, timing, and real overlap with the caller.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "device/device.hpp"
#include "util/error.hpp"

using namespace awsdt;
using namespace std::chrono;

TEST(Stream, RunsTasksInOrder) {
  Stream s(Device::cpu());
  std::vector<int> seen;
  for (int i = 0; i < 1000; ++i) s.enqueue([&seen, i] { seen.push_back(i); });
  s.synchronize();
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(seen[i], i);
}

TEST(Stream, FailedTaskSkipsLaterWorkAndRethrowsOnce) {
  Stream s(Device::cpu());
  bool ran_after = false;
  s.enqueue([] { throw std::runtime_error("boom"); });
  s.enqueue([&] { ran_after = true; });
  EXPECT_THROW(s.synchronize(), std::runtime_error);
  EXPECT_FALSE(ran_after);
  s.enqueue([&] { ran_after = true; });
  s.synchronize();  // usable again once the error was reported
  EXPECT_TRUE(ran_after);
}

TEST(Stream, OverlapsWithTheCallerLikeAGpuStream) {
  Stream s(Device::cpu());
  auto t0 = steady_clock::now();
  s.enqueue([] { std::this_thread::sleep_for(milliseconds(300)); });  // "communication"
  std::this_thread::sleep_for(milliseconds(300));                     // "compute" on the caller
  s.synchronize();
  double ms = duration<double, std::milli>(steady_clock::now() - t0).count();
  EXPECT_LT(ms, 450.0) << "stream work did not overlap with the caller";
  EXPECT_GE(ms, 300.0);
}

TEST(Stream, EventsTimeStreamWorkAndOrderOtherStreams) {
  Stream a(Device::cpu()), b(Device::cpu());
  Event start(Device::cpu()), stop(Device::cpu());
  start.record(a);
  a.enqueue([] { std::this_thread::sleep_for(milliseconds(50)); });
  stop.record(a);
  // b must not run its task before a reached `stop`.
  bool a_done_when_b_ran = false;
  b.wait(stop);
  b.enqueue([&] { a_done_when_b_ran = stop.done(); });
  b.synchronize();
  EXPECT_TRUE(a_done_when_b_ran);
  double ms = Event::elapsed_ms(start, stop);
  EXPECT_GE(ms, 49.0);
  EXPECT_LT(ms, 200.0);
}

TEST(Stream, SynchronizeForTimesOut) {
  Stream s(Device::cpu());
  s.enqueue([] { std::this_thread::sleep_for(milliseconds(300)); });
  EXPECT_FALSE(s.synchronize_for(milliseconds(20)));
  EXPECT_TRUE(s.synchronize_for(milliseconds(2000)));
}

TEST(Stream, CountsItsWorkersCpuTimeNotItsSleep) {
  Stream s(Device::cpu());
  const double before = s.cpu_time_ms();
  s.enqueue([] { std::this_thread::sleep_for(milliseconds(150)); });
  s.synchronize();
  const double after_sleep = s.cpu_time_ms();
  EXPECT_LT(after_sleep - before, 50.0);  // sleeping costs no CPU
  s.enqueue([] {
    const auto end = steady_clock::now() + milliseconds(150);
    while (steady_clock::now() < end) {}
  });
  s.synchronize();
  // Busy for 150 ms of wall time; on a loaded machine the thread may get somewhat less of a core.
  EXPECT_GT(s.cpu_time_ms() - after_sleep, 75.0);
}

TEST(Buffer, HostBuffersAreAlignedAndMovable) {
  Buffer b(1000, MemoryKind::Host);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 256, 0u);
  Buffer c = std::move(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(c.bytes(), 1000u);
}

TEST(Device, ParsesAndRejectsClearly) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda:3"), Device::cuda(3));
  try {
    Device::parse("tpu");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'tpu'"), std::string::npos);
  }
}

TEST(Device, CudaWorkSkipsWithoutAGpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU visible: CUDA stream test skipped";
  Stream s(Device::cuda(0));
  Buffer d(1 << 20, MemoryKind::Device, Device::cuda(0));
  std::vector<char> host(1 << 20, 7), back(1 << 20, 0);
  copy_async(d.data(), host.data(), host.size(), s);
  copy_async(back.data(), d.data(), back.size(), s);
  s.synchronize();
  EXPECT_EQ(host, back);
}
