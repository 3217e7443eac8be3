// Check patterns (see pattern.hpp). GPU regions go through a host copy: the check is not timed.
#include "pattern.hpp"

#include <vector>

namespace awsdt::fabric {
namespace {

std::uint8_t pattern_byte(std::uint32_t key, std::size_t i) {
  std::uint64_t x = (std::uint64_t(key) << 32) ^ i;  // splitmix64's mixer: neighbouring bytes differ
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return std::uint8_t(x ^ (x >> 31));
}

std::uint32_t key_of(std::uint32_t seed, int side, std::size_t slot) {
  return seed * 2654435761u ^ std::uint32_t(side) << 30 ^ std::uint32_t(slot) * 40503u;
}

// Runs `body` on a host view of the bytes, copying from and back to GPU memory when the region is there.
template <class Body>
void on_host(Region& r, std::size_t offset, std::size_t len, bool write_back, Body&& body) {
  if (!r.memory.device().is_cuda()) return body(reinterpret_cast<std::uint8_t*>(r.at(offset)));
  std::vector<std::uint8_t> host(len);
  Stream stream(r.memory.device());
  copy_async(host.data(), r.at(offset), len, stream);
  stream.synchronize();
  body(host.data());
  if (!write_back) return;
  copy_async(r.at(offset), host.data(), len, stream);
  stream.synchronize();
}

}  // namespace

void fill_pattern(Region& r, std::size_t offset, std::size_t len, std::uint32_t seed, int side, std::size_t slot) {
  auto key = key_of(seed, side, slot);
  on_host(r, offset, len, true, [&](std::uint8_t* p) {
    for (std::size_t i = 0; i < len; ++i) p[i] = pattern_byte(key, i);
  });
}

void poison(Region& r, std::size_t offset, std::size_t len) {
  on_host(r, offset, len, true, [&](std::uint8_t* p) {
    for (std::size_t i = 0; i < len; ++i) p[i] = std::uint8_t(0xa5 ^ i);
  });
}

std::int64_t count_wrong(Region& r, std::size_t offset, std::size_t len, std::uint32_t seed, int side,
                         std::size_t slot) {
  auto key = key_of(seed, side, slot);
  std::int64_t wrong = 0;
  on_host(r, offset, len, false, [&](std::uint8_t* p) {
    for (std::size_t i = 0; i < len; ++i) wrong += p[i] != pattern_byte(key, i);
  });
  return wrong;
}

void corrupt_one(Region& r, std::size_t offset, std::size_t len) {
  if (len == 0) return;
  on_host(r, offset + len / 2, 1, true, [](std::uint8_t* p) { p[0] ^= 0xff; });
}

}  // namespace awsdt::fabric
