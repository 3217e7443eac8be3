// The control plane between the two sides of a test: endpoint addresses, memory keys, barriers and check counts.
// Across processes it is the core's Bootstrap (MPI or torchrun variables); with --loopback, two threads of this
// process meet in memory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"

namespace awsdt::fabric {

class Link {
 public:
  virtual ~Link() = default;
  /// 0 (the side that measures and reports) or 1.
  virtual int side() const = 0;
  /// Gives the peer `mine` (at most kMaxBytes) and returns the peer's.
  virtual std::vector<std::uint8_t> exchange(const std::vector<std::uint8_t>& mine) = 0;
  void barrier() { exchange({}); }
  /// Throws when the other side has failed (only --loopback can know; a launcher ends a dead rank's peers).
  virtual void check_peer() {}
  static constexpr std::size_t kMaxBytes = 1020;
};

/// Two ranks over the bootstrap (which pads every message to the same size).
class BootstrapLink final : public Link {
 public:
  explicit BootstrapLink(Bootstrap& bootstrap) : bootstrap_(bootstrap) {}
  int side() const override { return bootstrap_.rank(); }
  std::vector<std::uint8_t> exchange(const std::vector<std::uint8_t>& mine) override;

 private:
  Bootstrap& bootstrap_;
};

/// Where the two threads of --loopback meet.
class LoopbackHub {
 public:
  explicit LoopbackHub(double timeout_s) : timeout_s_(timeout_s) {}
  std::vector<std::uint8_t> exchange(int side, const std::vector<std::uint8_t>& mine);
  /// A side that fails says so, so that the other stops waiting for it.
  void fail(int side);
  void check(int side);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::uint8_t> slot_[2], out_[2];
  int arrived_ = 0;
  unsigned long generation_ = 0;
  std::atomic<bool> failed_[2] = {false, false};
  double timeout_s_;
};

class LoopbackLink final : public Link {
 public:
  LoopbackLink(LoopbackHub& hub, int side) : hub_(hub), side_(side) {}
  int side() const override { return side_; }
  std::vector<std::uint8_t> exchange(const std::vector<std::uint8_t>& mine) override {
    return hub_.exchange(side_, mine);
  }
  void check_peer() override { hub_.check(side_); }

 private:
  LoopbackHub& hub_;
  int side_;
};

}  // namespace awsdt::fabric
