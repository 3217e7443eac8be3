// `awsdt run` (see run.hpp): resolves the manifest, finds the executable beside awsdt, and starts mpirun with
// the flags a local run needs (oversubscribe when ranks exceed cores, --allow-run-as-root only as root).
#include "commands/run.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "awsdt/config.hpp"
#include "manifest.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {

struct RunOptions {
  std::string test_case;
  std::string cluster = "local";
  std::string dir;
  int ranks = 0;  // 0: the manifest's local_ranks
  bool dry_run = false;
  std::vector<std::string> args;
};

fs::path self_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : p.parent_path();
}

std::vector<std::string> local_command(const RunOptions& o, const Manifest& m) {
  auto exe = self_dir() / m.executable;
  if (!fs::exists(exe))
    throw UsageError(fmt::format("executable '{}' for test case '{}' not found beside awsdt in {} (is it built?)",
                                 m.executable, m.name, self_dir().string()));
  int ranks = o.ranks > 0 ? o.ranks : m.local_ranks;
  std::vector<std::string> cmd{AWSDT_MPIRUN, "-np", std::to_string(ranks)};
  if (ranks > int(std::thread::hardware_concurrency())) cmd.push_back("--oversubscribe");
  if (::geteuid() == 0) cmd.push_back("--allow-run-as-root");
  cmd.push_back(exe.string());
  auto& extra = o.args.empty() ? m.default_args : o.args;
  cmd.insert(cmd.end(), extra.begin(), extra.end());
  return cmd;
}

int exec_and_wait(const std::vector<std::string>& cmd) {
  std::vector<char*> argv;
  for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "error: cannot start %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void setup_run(CLI::App& app, int& exit_status) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "run a test case (locally with mpirun for now)");
  cmd->add_option("test_case", o->test_case, "test case name (see `awsdt list`)")->required();
  cmd->add_option("--cluster", o->cluster, "where to run: local")->check(CLI::IsMember({"local"}));
  cmd->add_option("-n,--ranks", o->ranks, "ranks for a local run (default: the manifest's local_ranks)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--test-cases", o->dir, "directory holding <name>/test_case.json");
  cmd->add_flag("--dry-run", o->dry_run, "print the command instead of running it");
  cmd->add_option("args", o->args, "benchmark arguments after --, replacing the manifest's defaults");
  cmd->callback([o, &exit_status] {
    auto m = find_manifest(test_cases_dir(o->dir), o->test_case);
    auto command = local_command(*o, m);
    std::cerr << "awsdt: " << fmt::format("{}", fmt::join(command, " ")) << "\n";
    exit_status = o->dry_run ? 0 : exec_and_wait(command);
  });
}

}  // namespace awsdt::launcher
