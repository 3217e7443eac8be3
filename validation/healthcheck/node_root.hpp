// The node's files as the checks read them: sysfs, procfs, /dev and the kernel log, all under a root directory
// ("/" on a node; a fake tree in tests, --root DIR), so that every check runs without the hardware.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace awsdt::health {

class NodeRoot {
 public:
  explicit NodeRoot(std::filesystem::path dir = "/");
  /// `abs` (an absolute path on the node, "/sys/class/infiniband") under the root.
  std::filesystem::path path(std::string_view abs) const;
  /// The whole file, or nullopt when it cannot be read.
  std::optional<std::string> read(std::string_view abs) const;
  /// The first line without surrounding blanks, or nullopt.
  std::optional<std::string> read_line(std::string_view abs) const;
  /// Names in a directory, sorted; empty when it does not exist.
  std::vector<std::string> list(std::string_view abs) const;
  bool exists(std::string_view abs) const;
  /// The kernel log: /dev/kmsg's records (a character device on a node, one record per read; a plain file in a
  /// fake tree). nullopt when it cannot be opened (dmesg_restrict without root).
  std::optional<std::string> kernel_log() const;
  /// Total and available bytes of the filesystem holding `abs` (statvfs), or nullopt when it does not exist.
  struct Space {
    std::uint64_t total = 0, available = 0;
  };
  std::optional<Space> space(std::string_view abs) const;
  /// The mount points listed in /proc/mounts.
  std::vector<std::string> mount_points() const;
  /// A value of /proc/meminfo in kB ("HugePages_Total" is a count), or nullopt.
  std::optional<std::uint64_t> meminfo(std::string_view key) const;
  /// The soft limit of /proc/self/limits' row `name` ("Max locked memory"); nullopt when absent, UINT64_MAX
  /// for unlimited.
  std::optional<std::uint64_t> soft_limit(std::string_view name) const;
  /// The command names (/proc/<pid>/comm) of the running processes.
  std::vector<std::string> process_names() const;
  /// The kernel's view of the system clock's synchronisation (adjtimex(2), read only): STA_UNSYNC, and the
  /// estimated and maximum error the time daemon (chronyd, ntpd) last gave the kernel, which the kernel grows by
  /// 500 µs a second until the next update.
  struct ClockState {
    bool unsynchronised = true;
    long maxerror_us = 0, esterror_us = 0;
  };
  /// A fake tree (a root other than "/") may hold the file /run/awsdt/adjtimex, lines "status N", "maxerror N",
  /// "esterror N" (struct timex's fields), which is read instead of the system call; nullopt when that file is
  /// malformed or the call fails.
  std::optional<ClockState> clock_state() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace awsdt::health
