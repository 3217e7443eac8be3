// File helpers (see fs.hpp).
#include "util/fs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt {

std::string temporary_name(const std::string& path) {
  return fmt::format("{}.tmp.{}.{}.{:08x}", path, host_name(), ::getpid(), std::random_device{}());
}

void write_file_atomic(const std::string& path, const std::string& content, bool durable) {
  std::string tmp = temporary_name(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  const char* p = content.data();
  std::size_t left = content.size();
  while (left) {
    ssize_t k = ::write(fd, p, left);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
    }
    p += k;
    left -= std::size_t(k);
  }
  if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  if (!durable) return;
  const auto slash = path.find_last_of('/');
  fsync_directory(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw UsageError(fmt::format("cannot open directory '{}': {}", dir, std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw UsageError(fmt::format("cannot sync directory '{}': {}", dir, std::strerror(err)));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
// /proc and /sys take writes only as commands to the kernel (and root may open their files for writing): never
// a place for results.
bool on_kernel_file_system(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC);
}
}  // namespace

void check_writable_file(const std::string& path, const std::string& flag) {
  const auto bad = [&](const std::string& why) { throw UsageError(fmt::format("{} '{}': {}", flag, path, why)); };
  if (path.empty()) bad("an empty path");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) bad("is a directory; give a file name");
    if (on_kernel_file_system(path)) bad("is a kernel file (/proc, /sys), not a file to write results to");
    // Results are written to a temporary file renamed over the path: a device, FIFO or socket would be replaced.
    if (!S_ISREG(st.st_mode)) bad("is not a regular file");
    // Opened for writing without O_TRUNC or O_CREAT: nothing changes, and what refuses writes (a read-only
    // file system, /proc) says so now.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) bad(std::string("cannot be written: ") + std::strerror(errno));
    ::close(fd);
    return;
  }
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) bad(fmt::format("no directory '{}'", dir));
  if (on_kernel_file_system(dir)) bad(fmt::format("'{}' is a kernel file system (/proc, /sys)", dir));
  if (::access(dir.c_str(), W_OK) != 0)
    bad(fmt::format("directory '{}' cannot be written: {}", dir, std::strerror(errno)));
}

}  // namespace awsdt
