// Available memory and the up-front size check (see memory.hpp).
#include "util/memory.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt {
namespace {

std::optional<std::uint64_t> meminfo_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> read_number(const char* path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;  // also "max": no limit
}

// What the cgroup still allows this process: its limit less its usage (v2, then v1).
std::optional<std::uint64_t> cgroup_available() {
  for (auto [limit, usage] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    auto l = read_number(limit), u = read_number(usage);
    if (l && u) return *l > *u ? *l - *u : 0;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> available_memory() {
  auto host = meminfo_available();
  auto group = cgroup_available();
  if (host && group) return std::min(*host, *group);
  return host ? host : group;
}

void require_memory(double bytes, const std::string& what, const std::string& detail) {
  const auto available = available_memory();
  if (!available || bytes <= double(*available)) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  throw UsageError(
      fmt::format("{}: needs at least {:.3g} GiB of memory per rank ({}), but this host has {:.1f} GiB available", what,
                  bytes / kGiB, detail, double(*available) / kGiB));
}

}  // namespace awsdt
