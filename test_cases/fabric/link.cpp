// Control plane between the two sides (see link.hpp).
#include "link.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt::fabric {

std::vector<std::uint8_t> BootstrapLink::exchange(const std::vector<std::uint8_t>& mine) {
  if (mine.size() > kMaxBytes) AWSDT_THROW(fmt::format("control message of {} bytes is too large", mine.size()));
  // all_gather_bytes wants the same size from every rank: a length, then the bytes, padded.
  std::vector<std::uint8_t> block(4 + kMaxBytes, 0);
  auto len = std::uint32_t(mine.size());
  std::memcpy(block.data(), &len, 4);
  std::copy(mine.begin(), mine.end(), block.begin() + 4);  // not memcpy: an empty vector's data() may be null
  auto all = bootstrap_.all_gather_bytes(block);
  const std::uint8_t* peer = all.data() + (1 - side()) * block.size();
  std::memcpy(&len, peer, 4);
  return {peer + 4, peer + 4 + len};
}

std::vector<std::uint8_t> LoopbackHub::exchange(int side, const std::vector<std::uint8_t>& mine) {
  std::unique_lock lock(mutex_);
  check(side);
  slot_[side] = mine;
  auto generation = generation_;
  if (++arrived_ == 2) {
    // Both here: hand each side the other's bytes before either can overwrite its slot in a later exchange.
    out_[0] = slot_[1];
    out_[1] = slot_[0];
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
    return out_[side];
  }
  auto limit = std::chrono::duration<double>(timeout_s_ > 0 ? timeout_s_ : 1e9);
  if (!cv_.wait_for(lock, limit, [&] { return generation_ != generation || failed_[1 - side]; }))
    AWSDT_THROW(fmt::format("--loopback: side {} waited {:g} s (-T) for the other side", side, timeout_s_));
  check(side);
  return out_[side];
}

void LoopbackHub::fail(int side) {
  std::lock_guard lock(mutex_);
  failed_[side] = true;
  cv_.notify_all();
}

void LoopbackHub::check(int side) {
  if (failed_[1 - side]) AWSDT_THROW(fmt::format("--loopback: side {} failed; side {} stops", 1 - side, side));
}

}  // namespace awsdt::fabric
