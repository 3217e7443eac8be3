// `awsdt batch-entry` (see batch_entry.hpp).
#include "commands/batch_entry.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "comm/bootstrap/bootstrap.hpp"
#include "escape.hpp"
#include "process.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace {

// This node's first non-loopback IPv4 address: what the other nodes can reach it at.
std::string own_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) AWSDT_THROW("getifaddrs failed");
  std::string ip;
  for (auto* a = list; a && ip.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof(buf));
    if (std::string(buf).rfind("127.", 0) != 0) ip = buf;
  }
  ::freeifaddrs(list);
  if (ip.empty()) AWSDT_THROW("this node has no non-loopback IPv4 address");
  return ip;
}

void exec(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  AWSDT_THROW(fmt::format("cannot start {}", argv[0]));
}

// The exit status of child `pid` (128+signal when killed), once it has ended.
int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) AWSDT_THROW(fmt::format("waitpid failed: {}", std::strerror(errno)));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Starts `sshd` (a child in the foreground, so that this process ends when it does) and returns once it accepts
// connections on ip:port: the main node's mpirun connects to every node the moment the last one has arrived.
pid_t start_sshd(const std::string& sshd, const std::string& ip, int port, std::chrono::milliseconds timeout) {
  pid_t pid = ::fork();
  if (pid < 0) AWSDT_THROW(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    const char* argv[] = {sshd.c_str(), "-D", "-e", nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    std::fprintf(stderr, "awsdt: cannot start %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::uint16_t(port));
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  for (auto deadline = std::chrono::steady_clock::now() + timeout;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool up = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (fd >= 0) ::close(fd);
    if (up) return pid;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      AWSDT_THROW(fmt::format("{} ended (status {}) before listening on {}:{}; mpirun needs it on every worker", sshd,
                              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ip, port));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGTERM);
      AWSDT_THROW(fmt::format("{} is not listening on {}:{} after {} s", sshd, ip, port, timeout.count() / 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

void setup_batch_entry(CLI::App& app, int& exit_status) {
  struct Opts {
    int tasks_per_node = 1;
    int port = 29411;
    double timeout_s = 900;
    bool print_only = false;
    std::string hostfile = "/tmp/awsdt-hostfile";
    std::string sshd = "/usr/sbin/sshd";
    int ssh_port = 22;
    std::vector<std::string> forward_env, command;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("batch-entry", "entry point of an AWS Batch multi-node job (used by rendered jobs)");
  cmd->add_option("--tasks-per-node", o->tasks_per_node, "ranks per node")->check(CLI::PositiveNumber);
  cmd->add_option("--port", o->port, "rendezvous TCP port on the main node");
  cmd->add_option("--timeout", o->timeout_s, "seconds to wait for every node to arrive");
  cmd->add_option("--hostfile", o->hostfile, "where the main node writes the MPI hostfile");
  cmd->add_option("--forward-env", o->forward_env, "NAME,NAME: the job's variables mpirun passes to every rank")
      ->delimiter(',')
      ->allow_extra_args(false);  // else the option would swallow the `--` before the command
  cmd->add_option("--sshd", o->sshd, "workers: the sshd the main node's mpirun connects to");
  cmd->add_option("--ssh-port", o->ssh_port, "workers: the port that sshd listens on (its Port setting)");
  cmd->add_flag("--print-only", o->print_only, "print the hostfile and command instead of running them (tests)");
  cmd->add_option("command", o->command, "benchmark command after --")->required();
  cmd->callback([o, &exit_status] {
    auto index = env_required("AWS_BATCH_JOB_NODE_INDEX", "(set by AWS Batch on every node)");
    auto nodes = env_required("AWS_BATCH_JOB_NUM_NODES", "(set by AWS Batch on every node)");
    auto main_index = env_string("AWS_BATCH_JOB_MAIN_NODE_INDEX").value_or("0");
    if (main_index != "0")
      throw UsageError(fmt::format(
          "AWS_BATCH_JOB_MAIN_NODE_INDEX={}: awsdt's job definitions make node 0 the main node", main_index));
    bool is_main = index == main_index;
    std::string ip = own_ipv4();
    set_process_identity(-1, ip);  // the host table then holds addresses, which mpirun can reach
    ::setenv("MASTER_ADDR",
             is_main
                 ? ip.c_str()
                 : env_required("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS", "on worker nodes (set by AWS Batch)")
                       .c_str(),
             1);
    ::setenv("MASTER_PORT", std::to_string(o->port).c_str(), 1);
    ::setenv("RANK", index.c_str(), 1);
    ::setenv("WORLD_SIZE", nodes.c_str(), 1);
    for (const auto& name : o->forward_env) require_env_name(name);
    const std::chrono::milliseconds timeout(static_cast<long long>(o->timeout_s * 1000));
    if (!is_main) {
      // Workers serve sshd for mpirun, and join the rendezvous only once it listens: the main node starts
      // mpirun as soon as every node has arrived. AWS Batch stops them when the main node's process ends.
      if (o->print_only) {
        make_env_bootstrap(timeout);
        std::cout << fmt::format("worker {} ready at {}\n", index, ip);
        exit_status = 0;
        return;
      }
      pid_t sshd = start_sshd(o->sshd, ip, o->ssh_port, timeout);
      make_env_bootstrap(timeout);  // arrives, and leaves at once: workers take no part after the host table
      exit_status = wait_child(sshd);
      return;
    }
    auto boot = make_env_bootstrap(timeout);
    std::string hostfile;
    for (const auto& h : boot->hosts()) hostfile += fmt::format("{} slots={}\n", h, o->tasks_per_node);
    std::vector<std::string> mpirun{
        "mpirun",    "--hostfile", o->hostfile, "-np", std::to_string(int(boot->hosts().size()) * o->tasks_per_node),
        "--bind-to", "none"};
    if (::geteuid() == 0) mpirun.push_back("--allow-run-as-root");
    // Ranks started over ssh see none of the container's environment: pass the job's variables and the search
    // paths (Open MPI, libfabric and aws-ofi-nccl live under /opt/amazon in the AWS EFA images).
    mpirun.insert(mpirun.end(), {"-x", "PATH", "-x", "LD_LIBRARY_PATH"});
    for (const auto& name : o->forward_env)
      if (name != "PATH" && name != "LD_LIBRARY_PATH") mpirun.insert(mpirun.end(), {"-x", name});
    mpirun.insert(mpirun.end(), o->command.begin(), o->command.end());
    if (o->print_only) {
      std::cout << hostfile << display_command(mpirun) << "\n";
      exit_status = 0;
      return;
    }
    write_file_atomic(o->hostfile, hostfile);
    exec(mpirun);
  });
}

}  // namespace awsdt::launcher
