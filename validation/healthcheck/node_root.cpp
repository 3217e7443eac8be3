// The node's files under a root directory (see node_root.hpp).
#include "node_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <limits>
#include <sstream>

namespace awsdt::health {
namespace fs = std::filesystem;

NodeRoot::NodeRoot(fs::path dir) : dir_(std::move(dir)) {}

fs::path NodeRoot::path(std::string_view abs) const {
  std::string rel(abs);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  return dir_ / rel;
}

std::optional<std::string> NodeRoot::read(std::string_view abs) const {
  std::ifstream in(path(abs), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::string> NodeRoot::read_line(std::string_view abs) const {
  auto text = read(abs);
  if (!text) return std::nullopt;
  std::string line = text->substr(0, text->find('\n'));
  auto first = line.find_first_not_of(" \t\r");
  auto last = line.find_last_not_of(" \t\r");
  return first == std::string::npos ? "" : line.substr(first, last - first + 1);
}

std::vector<std::string> NodeRoot::list(std::string_view abs) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path(abs), ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool NodeRoot::exists(std::string_view abs) const {
  std::error_code ec;
  return fs::exists(path(abs), ec);
}

std::optional<std::string> NodeRoot::kernel_log() const {
  auto p = path("/dev/kmsg");
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  if (!S_ISCHR(st.st_mode)) return read("/dev/kmsg");
  // /dev/kmsg hands out one record per read() and EAGAIN once the buffer is drained (O_NONBLOCK).
  int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string log;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      log.append(buf, static_cast<std::size_t>(n));
      if (log.back() != '\n') log.push_back('\n');
    } else if (n < 0 && errno == EPIPE) {
      continue;  // a record was overwritten while we read: go on with the next one
    } else {
      break;
    }
  }
  ::close(fd);
  return log;
}

std::optional<NodeRoot::Space> NodeRoot::space(std::string_view abs) const {
  struct statvfs v {};
  if (::statvfs(path(abs).c_str(), &v) != 0) return std::nullopt;
  return Space{static_cast<std::uint64_t>(v.f_blocks) * v.f_frsize,
               static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize};
}

std::vector<std::string> NodeRoot::mount_points() const {
  std::vector<std::string> out;
  std::istringstream in(read("/proc/mounts").value_or(""));
  std::string device, point, rest;
  while (in >> device >> point && std::getline(in, rest)) out.push_back(point);
  return out;
}

std::optional<std::uint64_t> NodeRoot::meminfo(std::string_view key) const {
  std::istringstream in(read("/proc/meminfo").value_or(""));
  std::string name;
  std::uint64_t value = 0;
  std::string rest;
  while (in >> name >> value && std::getline(in, rest))
    if (name == std::string(key) + ":") return value;
  return std::nullopt;
}

std::optional<std::uint64_t> NodeRoot::soft_limit(std::string_view name) const {
  std::istringstream in(read("/proc/self/limits").value_or(""));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name)) continue;
    std::istringstream fields(line.substr(name.size()));
    std::string soft;
    fields >> soft;
    if (soft == "unlimited") return std::numeric_limits<std::uint64_t>::max();
    try {
      return std::stoull(soft);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::vector<std::string> NodeRoot::process_names() const {
  std::vector<std::string> out;
  for (const auto& pid : list("/proc"))
    if (!pid.empty() && std::all_of(pid.begin(), pid.end(), ::isdigit))
      if (auto comm = read_line("/proc/" + pid + "/comm")) out.push_back(*comm);
  return out;
}

std::optional<NodeRoot::ClockState> NodeRoot::clock_state() const {
  struct timex tx {};
  if (dir_ != "/" && exists("/run/awsdt/adjtimex")) {
    std::istringstream in(read("/run/awsdt/adjtimex").value_or(""));
    std::string key;
    long value = 0;
    int seen = 0;
    while (in >> key >> value) {
      if (key == "status") tx.status = static_cast<int>(value), seen |= 1;
      if (key == "maxerror") tx.maxerror = value, seen |= 2;
      if (key == "esterror") tx.esterror = value;
    }
    if (seen != 3) return std::nullopt;
  } else if (::adjtimex(&tx) < 0) {  // modes 0: reads, needs no privilege
    return std::nullopt;
  }
  return ClockState{(tx.status & STA_UNSYNC) != 0, static_cast<long>(tx.maxerror), static_cast<long>(tx.esterror)};
}

}  // namespace awsdt::health
