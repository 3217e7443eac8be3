// sysfs attribute reading and parsing (see sysfs_value.hpp).
#include "sysfs_value.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace awsdt::exporter {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\n\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\n\r");
  return s.substr(first, last - first + 1);
}

}  // namespace

std::optional<std::string> read_attribute(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[256];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n < 0) return std::nullopt;
  return std::string(buf, std::size_t(n));
}

std::optional<std::uint64_t> parse_counter(const std::string& text) {
  const std::string t = trim(text);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<unsigned> parse_state_id(const std::string& text) {
  const std::string t = trim(text);
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end == t.data() || (end != t.data() + t.size() && *end != ':')) return std::nullopt;
  return v;
}

std::optional<double> parse_rate_bytes(const std::string& text) {
  const std::string t = trim(text);
  char* end = nullptr;
  const double gbit = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || std::string(end).rfind(" Gb/sec", 0) != 0 || gbit < 0) return std::nullopt;
  return gbit * 1e9 / 8;
}

}  // namespace awsdt::exporter
