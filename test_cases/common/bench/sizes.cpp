// Size parsing and formatting (see sizes.hpp).
#include "bench/sizes.hpp"

#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt {

std::uint64_t parse_bytes(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return UsageError(
        fmt::format("invalid {} '{}'; expected a byte count like 8, 64K, 128M or 16G (powers of 1024)", what, text));
  };
  std::string_view s = text;
  if (!s.empty() && (s.back() == 'B' || s.back() == 'b')) s.remove_suffix(1);
  std::uint64_t scale = 1;
  if (!s.empty() && std::isalpha(static_cast<unsigned char>(s.back()))) {
    switch (std::toupper(static_cast<unsigned char>(s.back()))) {
      case 'K': scale = 1ull << 10; break;
      case 'M': scale = 1ull << 20; break;
      case 'G': scale = 1ull << 30; break;
      case 'T': scale = 1ull << 40; break;
      default: throw bad();
    }
    s.remove_suffix(1);
  }
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) throw bad();
  if (value > std::numeric_limits<std::uint64_t>::max() / scale) throw bad();
  return value * scale;
}

std::vector<std::uint64_t> size_sweep(std::uint64_t min, std::uint64_t max, std::uint64_t factor, std::uint64_t step) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = min; s <= max;) {
    out.push_back(s);
    std::uint64_t next = factor > 1 ? s * factor : s + step;
    if (next <= s || (factor > 1 && next / factor != s)) break;  // a zero step or an overflow
    s = next;
  }
  return out;
}

void check_size_sweep(std::uint64_t min, std::uint64_t max, std::uint64_t factor, std::uint64_t step) {
  if (min > max) throw UsageError(fmt::format("-b/--minbytes {} is larger than -e/--maxbytes {}", min, max));
  if (factor == 0) throw UsageError("-f/--stepfactor 0 would never advance; use 1 or more");
  if (factor == 1 && step == 0) throw UsageError("-i/--stepbytes 0 with -f 1 would never advance; use a positive step");
}

std::string format_bytes(double bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

}  // namespace awsdt
