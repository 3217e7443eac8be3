// Process identity and the formatting of awsdt::Error.
#include "util/error.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>

#include <fmt/format.h>

namespace awsdt {
namespace {
std::atomic<int> g_rank{-1};
std::mutex g_host_mutex;
std::string g_host;

std::string base_name(const char* path) {
  std::string p(path);
  auto slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}
}  // namespace

const std::string& host_name() {
  std::lock_guard lock(g_host_mutex);
  if (g_host.empty()) {
    char buf[256] = {};
    if (gethostname(buf, sizeof(buf) - 1) != 0) return g_host = "unknown-host";
    g_host = buf;
  }
  return g_host;
}

void set_process_identity(int rank, std::string host) {
  g_rank = rank;
  if (!host.empty()) {
    std::lock_guard lock(g_host_mutex);
    g_host = std::move(host);
  }
}

int process_rank() { return g_rank; }

Error::Error(const std::string& message, const char* file, int line)
    : std::runtime_error(
          process_rank() >= 0
              ? fmt::format("[rank {} on {}] {} ({}:{})", process_rank(), host_name(), message, base_name(file), line)
              : fmt::format("[{}] {} ({}:{})", host_name(), message, base_name(file), line)),
      message_(message),
      rank_(process_rank()),
      host_(host_name()) {}

}  // namespace awsdt
