// Test support: a child process (a program with its arguments, stdout and stderr into a file), stopped with
// SIGTERM (then SIGKILL) by the test itself, and a free loopback port for it to listen on.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace awsdt::exporter::testing {

class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // A test killed by its timeout must not leave its servers running.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() { stop(); }
  pid_t pid() const { return pid_; }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  /// Waits up to `timeout_s` seconds for the process to exit by itself, then stops it. Returns the exit status.
  int wait(double timeout_s) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return stop();
  }
  /// SIGTERM, up to `grace_s` seconds to exit, then SIGKILL. Returns the exit status (128+signal if killed).
  int stop(double grace_s = 10) {
    if (!running()) return status_;
    ::kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
    while (running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (running()) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = 128 + SIGKILL;
      pid_ = -1;
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

/// A loopback port nothing listens on now (the kernel's pick for a socket bound to port 0).
inline int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

/// The whole file ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// awsdt-exporter (`exe`) listening on a free loopback port, with `args` after --listen; `port` is the one it
/// prints, -1 when it did not start within 5 s (its log says why).
struct RunningExporter {
  std::unique_ptr<Process> process;
  int port = -1;
};
inline RunningExporter start_exporter(const std::string& exe, const std::vector<std::string>& args,
                                      const std::filesystem::path& log) {
  std::vector<std::string> argv{exe, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunningExporter e{std::make_unique<Process>(argv, log.string())};
  const std::regex listening("listening on port ([0-9]+)");
  for (int i = 0; i < 200 && e.process->running(); ++i) {
    std::smatch m;
    const std::string text = read_text(log);
    if (std::regex_search(text, m, listening)) {
      e.port = std::stoi(m[1]);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return e;
}

}  // namespace awsdt::exporter::testing
