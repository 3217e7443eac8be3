// The bytes -c sends and expects: a function of the check's seed, the sending side, the window slot and the
// byte's offset, so that a message from the wrong slot, side or size is caught as surely as a flipped bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "endpoint.hpp"

namespace awsdt::fabric {

/// Fills `len` bytes at `offset` of `region` (host or GPU memory) with the pattern of (seed, side, slot).
void fill_pattern(Region& region, std::size_t offset, std::size_t len, std::uint32_t seed, int side, std::size_t slot);
/// Sets `len` bytes at `offset` to a value that the pattern is unlikely to have there (a receive must overwrite).
void poison(Region& region, std::size_t offset, std::size_t len);
/// Bytes at `offset` that differ from the pattern of (seed, side, slot).
std::int64_t count_wrong(Region& region, std::size_t offset, std::size_t len, std::uint32_t seed, int side,
                         std::size_t slot);
/// The test hook: flips one byte in the middle of the message.
void corrupt_one(Region& region, std::size_t offset, std::size_t len);

}  // namespace awsdt::fabric
