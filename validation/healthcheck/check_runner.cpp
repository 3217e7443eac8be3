// Checks in child processes with deadlines (see check_runner.hpp).
#include "check_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

namespace awsdt::health {
namespace {

using Clock = std::chrono::steady_clock;

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads the child's document until EOF or the deadline; false when the deadline came first.
bool read_until(int fd, Clock::time_point deadline, std::string& text) {
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    text.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

Outcome run_in_process(const CheckInfo& info, const CheckFn& fn, const Context& ctx) {
  Outcome out(info);
  try {
    fn(ctx, out);
  } catch (const std::exception& e) {
    out.fail("error", fmt::format("{} failed: {}", info.id, e.what()));
  }
  return out;
}

CheckRun run_isolated(const CheckInfo& info, const CheckFn& fn, const Context& ctx, double timeout_s) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);  // the child ends with _exit: nothing buffered may be written twice
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so that a timeout also ends what it started (dcgmi)
    ::close(fds[0]);
    write_all(fds[1], run_in_process(info, fn, ctx).to_json().dump());
    ::_exit(0);
  }
  ::setpgid(pid, pid);
  ::close(fds[1]);
  std::string text;
  auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  bool finished = read_until(fds[0], deadline, text);
  ::close(fds[0]);
  if (!finished) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  CheckRun run{Outcome(info), std::chrono::duration<double>(Clock::now() - t0).count()};
  if (!finished) {
    run.outcome.fail("timeout", fmt::format("{} did not finish within {:g} s (killed)", info.id, timeout_s));
    return run;
  }
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    run.outcome.fail("error", fmt::format("{} crashed ({})", info.id,
                                          WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                                              : fmt::format("exit {}", WEXITSTATUS(status))));
    return run;
  }
  run.outcome = Outcome::from_json(doc);
  return run;
}

}  // namespace awsdt::health
