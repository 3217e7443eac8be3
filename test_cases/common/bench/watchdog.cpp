// Watchdog: one thread sleeping until the armed phase's deadline, or the next probe; arm/disarm wake it to
// start over.
#include "bench/watchdog.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "bench/guard.hpp"
#include "comm/registry.hpp"
#include "util/error.hpp"

namespace awsdt {
namespace {

constexpr auto kProbeEvery = std::chrono::milliseconds(100);

}  // namespace

FaultProbe async_error_probe(const CommWorld& world) {
  if (!world.comms.front()->has_async_errors()) return {};  // nothing to poll (MPI reports errors from the calls)
  return [&world] {
    for (const auto& comm : world.comms)
      if (std::string fault = comm->async_error(); !fault.empty()) return fault;
    return std::string();
  };
}

Watchdog::Watchdog(double timeout_s, FaultProbe probe) : timeout_s_(timeout_s), probe_(std::move(probe)) {
  if (timeout_s_ > 0 || probe_) thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::arm(std::string phase) {
  {
    std::lock_guard lock(mutex_);
    phase_ = std::move(phase);
    armed_ = true;
    ++generation_;
  }
  cv_.notify_all();
}

void Watchdog::disarm() {
  {
    std::lock_guard lock(mutex_);
    armed_ = false;
    ++generation_;
  }
  cv_.notify_all();
}

void Watchdog::watch() {
  using Clock = std::chrono::steady_clock;
  // Without a deadline, a day between looks at the clock: only the probe (or a new phase) wakes the thread.
  const auto limit =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s_ > 0 ? timeout_s_ : 86400.0));
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (!armed_) {
      cv_.wait(lock, [&] { return stop_ || armed_; });
      continue;
    }
    const unsigned long generation = generation_;
    const auto changed = [&] { return stop_ || generation_ != generation; };
    const Clock::time_point deadline = Clock::now() + limit;
    while (!changed()) {
      const Clock::time_point wake = probe_ ? std::min(deadline, Clock::now() + kProbeEvery) : deadline;
      if (cv_.wait_until(lock, wake, changed)) break;
      if (probe_) {
        lock.unlock();  // a probe may take a moment; arm/disarm must not wait for it
        const std::string fault = probe_();
        lock.lock();
        if (!fault.empty() && !changed()) fail(lock, fmt::format("{} failed: {}", phase_, fault));
      }
      if (timeout_s_ > 0 && Clock::now() >= deadline && !changed())
        fail(lock, fmt::format("{} did not finish within {:g} s (a peer may have died or hung)", phase_, timeout_s_));
    }
  }
}

void Watchdog::fail(std::unique_lock<std::mutex>& lock, const std::string& why) {
  const std::string msg = fmt::format("error: rank {} on {}: {}; aborting the job\n", process_rank(), host_name(), why);
  (void)!::write(2, msg.data(), msg.size());
  lock.unlock();
  abort_communicator();
  std::_Exit(1);
}

}  // namespace awsdt
