// Child processes (see process.hpp).
#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "escape.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace {
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}
}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
    AWSDT_THROW(fmt::format("pipe failed: {}", std::strerror(errno)));
  auto args = c_argv(argv);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot start %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ProcessResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(fds[k].fd, buf, sizeof(buf));
      if (n > 0)
        (k == 0 ? r.out : r.err).append(buf, std::size_t(n));
      else if (n == 0 || errno != EINTR) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

int spawn_detached(const std::vector<std::string>& argv, const std::string& log_file) {
  auto args = c_argv(argv);
  // The child's end closes on exec: once the parent reads EOF the child has its own session, so a status check
  // right after this returns finds the job's process group (under load, it could run before the child's setsid).
  int started[2];
  if (::pipe2(started, O_CLOEXEC) != 0) AWSDT_THROW(fmt::format("pipe failed: {}", std::strerror(errno)));
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(started[0]);
    ::setsid();
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2), ::close(fd);
    if (null >= 0) ::dup2(null, 0), ::close(null);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot start %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(started[1]);
  char byte;
  while (pid > 0 && ::read(started[0], &byte, 1) < 0 && errno == EINTR) {}
  ::close(started[0]);
  if (pid < 0) AWSDT_THROW(fmt::format("fork failed: {}", std::strerror(errno)));
  return pid;
}

ProcessResult run_checked(const std::vector<std::string>& argv) {
  auto r = run_process(argv);
  if (r.status != 0) {
    auto err = r.err.empty() ? r.out : r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    AWSDT_THROW(fmt::format("`{}` failed with exit status {}: {}", display_command(argv), r.status, err));
  }
  return r;
}

std::string display_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    bool plain = !a.empty() && a.find_first_not_of(
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                   "._-/:=@,+%") == std::string::npos;
    out += (out.empty() ? "" : " ") + (plain ? a : shell_quote(a));
  }
  return out;
}

}  // namespace awsdt::launcher
