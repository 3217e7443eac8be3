// Watchdog: one thread sleeping until the armed phase's deadline; arm/disarm wake it to start over.
#include "bench/watchdog.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "bench/guard.hpp"
#include "util/error.hpp"

namespace awsdt {

Watchdog::Watchdog(double timeout_s) : timeout_s_(timeout_s) {
  if (timeout_s_ > 0) thread_ = std::thread([this] { watch(); });
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
  const auto limit = std::chrono::duration<double>(timeout_s_);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (!armed_) {
      cv_.wait(lock, [&] { return stop_ || armed_; });
      continue;
    }
    const unsigned long generation = generation_;
    const bool changed = cv_.wait_for(lock, limit, [&] { return stop_ || generation_ != generation; });
    if (changed) continue;
    const std::string msg = fmt::format(
        "error: rank {} on {}: {} did not finish within {:g} s (a peer may have died or hung); aborting the job\n",
        process_rank(), host_name(), phase_, timeout_s_);
    (void)!::write(2, msg.data(), msg.size());
    lock.unlock();
    abort_communicator();
    std::_Exit(1);
  }
}

}  // namespace awsdt
