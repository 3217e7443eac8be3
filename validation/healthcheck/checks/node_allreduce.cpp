// node-allreduce: awsdt-collectives' all_reduce inside this node (every local GPU in one process over NCCL, or
// --node-cpu-ranks MPI ranks under mpirun on a node without GPUs), its bus bandwidth against the catalog's one-node
// floor (the seed's NVLink-only thresholds) or --node-min-busbw-gbs. The benchmark runs as a child with its own
// launch: the variables of an outer srun or mpirun are removed from its environment, so that it does not take
// itself for a rank of the job that started awsdt-healthcheck.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "awsdt/config.hpp"
#include "checks/checks.hpp"
#include "device/device.hpp"

extern char** environ;

namespace awsdt::health {
namespace {
namespace fs = std::filesystem;

std::string collectives_program(const Settings& s) {
  if (!s.collectives.empty()) return s.collectives;
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / "awsdt-collectives")) return (self.parent_path() / "awsdt-collectives");
  return "awsdt-collectives";
}

// The variables of the launch that started this process (Slurm's, PMIx's, Open MPI's own), which would make the
// child join that job. Open MPI's transport choices (OMPI_MCA_btl, _pml, _mtl, ...) are the user's and stay.
bool launch_variable(std::string_view name) {
  for (std::string_view keep : {"OMPI_MCA_btl", "OMPI_MCA_pml", "OMPI_MCA_mtl", "OMPI_MCA_osc", "OMPI_MCA_coll"})
    if (name.starts_with(keep)) return false;
  for (std::string_view drop : {"SLURM_", "PMIX_", "PMI_", "OMPI_"})
    if (name.starts_with(drop)) return true;
  for (std::string_view torchrun : {"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK"})
    if (name == torchrun) return true;
  return false;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 29500;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// Runs `argv` with `env` added to this environment less the launch variables, output to `log`; its exit status
// (128 + N for a signal, 127 when it could not start).
int run(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log) {
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (!launch_variable(v.substr(0, v.find('=')))) vars.emplace_back(v);
  }
  vars.insert(vars.end(), env.begin(), env.end());
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  for (const auto& v : vars) envp.push_back(const_cast<char*>(v.c_str()));
  args.push_back(nullptr);
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The last line of the log that says something, for a failure's detail.
std::string last_line(const std::string& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t") != std::string::npos) last = line;
  return last.empty() ? "no output" : last;
}

}  // namespace

void check_node_allreduce(const Context& ctx, Outcome& out) {
  const auto& s = ctx.settings;
  int gpus = cuda_device_count();
  if (gpus == 1) {
    out.skip("one GPU: no all_reduce inside the node");
    return;
  }
  if (gpus == 0 && !AWSDT_HAVE_MPI) {
    out.skip("no GPU, and built without MPI: no CPU ranks");
    return;
  }
  auto dir = fs::temp_directory_path() / fmt::format("awsdt-hc-allreduce-{}", ::getpid());
  fs::create_directories(dir);
  auto json = (dir / "result.json").string(), log = (dir / "output.txt").string();
  std::vector<std::string> argv, env;
  std::string bytes = std::to_string(s.node_bytes);
  // One size, warm-up, every element checked (-c 1), the result document (-J).
  std::vector<std::string> bench{collectives_program(s), "all_reduce", "-b", bytes, "-e", bytes};
  bench.insert(bench.end(), {"-n", std::to_string(s.node_iters), "-w", "5", "-c", "1", "-J", json});
  if (gpus > 0) {
    // One process drives every GPU (nccl-tests' -g), as gpu-check.sh runs it: no MPI needed.
    argv = bench;
    argv.insert(argv.end(), {"-g", std::to_string(gpus), "--backend", "nccl", "--bootstrap", "env"});
    env = {"MASTER_ADDR=127.0.0.1", fmt::format("MASTER_PORT={}", free_port()), "RANK=0", "WORLD_SIZE=1",
           "LOCAL_RANK=0"};
  } else {
    std::string mpirun = !s.mpirun.empty() ? s.mpirun : std::string(AWSDT_MPIRUN).empty() ? "mpirun" : AWSDT_MPIRUN;
    argv = {mpirun, "-np", std::to_string(s.node_cpu_ranks), "--oversubscribe"};
    if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
    argv.insert(argv.end(), bench.begin(), bench.end());
    argv.insert(argv.end(), {"--backend", "mpi", "--bootstrap", "mpi"});
  }
  out.measured()["ranks"] = gpus > 0 ? gpus : s.node_cpu_ranks;
  out.measured()["bytes"] = s.node_bytes;
  int status = run(argv, env, log);
  nlohmann::json doc;
  if (std::ifstream in(json); in) doc = nlohmann::json::parse(in, nullptr, false);
  std::string tail = last_line(log);
  fs::remove_all(dir);
  if (status != 0 || doc.is_discarded() || !doc.contains("summary")) {
    out.fail("failed", fmt::format("{} all_reduce exited {}: {}", fs::path(argv[0]).filename().string(), status, tail));
    return;
  }
  auto wrong = doc["summary"]["out_of_bounds"].value("count", 0);
  double busbw = doc["summary"]["average_bus_bandwidth"].value("bandwidth", 0.0);
  // The catalog's floor is the GPUs' (NVLink): CPU ranks are compared only with --node-min-busbw-gbs.
  double floor = s.node_min_busbw_gbs > 0 ? s.node_min_busbw_gbs
                 : ctx.expect && gpus > 0 ? ctx.expect->node_allreduce_busbw_gbs
                                          : 0;
  out.measured()["busbw_gbs"] = busbw;
  out.measured()["floor_gbs"] = floor;
  if (wrong != 0) out.fail("failed", fmt::format("all_reduce gave {} wrong elements", wrong));
  std::string what = gpus > 0 ? fmt::format("{} GPUs", gpus) : fmt::format("{} CPU ranks", s.node_cpu_ranks);
  if (floor <= 0)
    out.note(fmt::format("all_reduce busbw {:.2f} GB/s over {} (no floor: --node-min-busbw-gbs)", busbw, what));
  else if (busbw < floor)
    out.fail("slow", fmt::format("all_reduce busbw {:.2f} GB/s over {} at {} bytes, below {:.2f}", busbw, what,
                                 s.node_bytes, floor));
}

}  // namespace awsdt::health
