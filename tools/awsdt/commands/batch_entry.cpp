// `awsdt batch-entry` (see batch_entry.hpp).
#include "commands/batch_entry.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "comm/bootstrap/bootstrap.hpp"
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

}  // namespace

void setup_batch_entry(CLI::App& app, int& exit_status) {
  struct Opts {
    int tasks_per_node = 1;
    int port = 29411;
    double timeout_s = 900;
    bool print_only = false;
    std::string hostfile = "/tmp/awsdt-hostfile";
    std::vector<std::string> command;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("batch-entry", "entry point of an AWS Batch multi-node job (used by rendered jobs)");
  cmd->add_option("--tasks-per-node", o->tasks_per_node, "ranks per node")->check(CLI::PositiveNumber);
  cmd->add_option("--port", o->port, "rendezvous TCP port on the main node");
  cmd->add_option("--timeout", o->timeout_s, "seconds to wait for every node to arrive");
  cmd->add_option("--hostfile", o->hostfile, "where the main node writes the MPI hostfile");
  cmd->add_flag("--print-only", o->print_only, "print the hostfile and command instead of running them (tests)");
  cmd->add_option("command", o->command, "benchmark command after --")->required();
  cmd->callback([o, &exit_status] {
    auto index = env_required("AWS_BATCH_JOB_NODE_INDEX", "(set by AWS Batch on every node)");
    auto nodes = env_required("AWS_BATCH_JOB_NUM_NODES", "(set by AWS Batch on every node)");
    auto main_index = env_string("AWS_BATCH_JOB_MAIN_NODE_INDEX").value_or("0");
    if (main_index != "0")
      throw UsageError(fmt::format("AWS_BATCH_JOB_MAIN_NODE_INDEX={}: awsdt's job definitions make node 0 the main node",
                                   main_index));
    bool is_main = index == main_index;
    std::string ip = own_ipv4();
    set_process_identity(-1, ip);  // the host table then holds addresses, which mpirun can reach
    ::setenv("MASTER_ADDR", is_main ? ip.c_str()
                                    : env_required("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS",
                                                   "on worker nodes (set by AWS Batch)")
                                          .c_str(),
             1);
    ::setenv("MASTER_PORT", std::to_string(o->port).c_str(), 1);
    ::setenv("RANK", index.c_str(), 1);
    ::setenv("WORLD_SIZE", nodes.c_str(), 1);
    auto boot = make_env_bootstrap(std::chrono::milliseconds(static_cast<long long>(o->timeout_s * 1000)));
    if (!is_main) {
      // Workers serve sshd for mpirun; AWS Batch stops them when the main node's process ends.
      if (o->print_only) {
        std::cout << fmt::format("worker {} ready at {}\n", index, ip);
        exit_status = 0;
        return;
      }
      exec({"/usr/sbin/sshd", "-D", "-e"});
    }
    std::string hostfile;
    for (const auto& h : boot->hosts()) hostfile += fmt::format("{} slots={}\n", h, o->tasks_per_node);
    std::vector<std::string> mpirun{"mpirun", "--hostfile", o->hostfile, "-np",
                                    std::to_string(int(boot->hosts().size()) * o->tasks_per_node), "--bind-to", "none"};
    if (::geteuid() == 0) mpirun.push_back("--allow-run-as-root");
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
