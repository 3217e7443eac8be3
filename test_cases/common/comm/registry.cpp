// Backend and bootstrap selection (see registry.hpp). New backends are added here, explicitly.
#include "comm/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "awsdt/config.hpp"
#include "util/error.hpp"
#if AWSDT_HAVE_MPI
#include "comm/mpi/mpi_communicator.hpp"
#endif
#if AWSDT_HAVE_NCCL
#include "comm/nccl/nccl_communicator.hpp"
#endif

namespace awsdt {

std::vector<std::string> available_backends() {
  std::vector<std::string> out;
  if (AWSDT_HAVE_NCCL) out.emplace_back("nccl");
  if (AWSDT_HAVE_MPI) out.emplace_back("mpi");
  return out;
}

std::string resolve_backend(const std::string& requested) {
  auto have = available_backends();
  if (requested == "auto") {
    if (AWSDT_HAVE_NCCL && cuda_device_count() > 0) return "nccl";
    if (AWSDT_HAVE_MPI) return "mpi";
    throw UsageError("no communication backend can run here: build with MPI, or with NCCL on a machine with GPUs");
  }
  if (requested != "mpi" && requested != "nccl")
    throw UsageError(fmt::format("unknown backend '{}'; expected auto, mpi or nccl", requested));
  if (std::find(have.begin(), have.end(), requested) == have.end())
    throw UsageError(fmt::format("backend '{}' is not built into this awsdt (built: {})", requested,
                                 have.empty() ? std::string("none") : fmt::format("{}", fmt::join(have, ", "))));
  return requested;
}

namespace {
std::unique_ptr<Bootstrap> make_bootstrap(const std::string& requested, const std::string& backend,
                                          std::chrono::milliseconds timeout) {
  std::string kind = requested;
  if (kind == "auto") kind = (launched_by_env() && !launched_by_mpi()) || !AWSDT_HAVE_MPI ? "env" : "mpi";
  if (kind == "env") {
    if (backend == "mpi")
      throw UsageError("the mpi backend needs an MPI launch (mpirun or srun --mpi=pmix), not the env bootstrap");
    return make_env_bootstrap(timeout);
  }
  if (kind == "mpi") {
#if AWSDT_HAVE_MPI
    return make_mpi_bootstrap();
#else
    throw UsageError("bootstrap 'mpi' is not built into this awsdt; use --bootstrap env (torchrun variables)");
#endif
  }
  throw UsageError(fmt::format("unknown bootstrap '{}'; expected auto, mpi or env", requested));
}
}  // namespace

std::unique_ptr<Bootstrap> make_bootstrap(const std::string& requested, std::chrono::milliseconds timeout) {
  return make_bootstrap(requested, "", timeout);
}

CommWorld make_comm_world(const CommConfig& config) {
  CommWorld world;
  auto backend = resolve_backend(config.backend);
  if (config.gpus_per_process < 1)
    throw UsageError(fmt::format("GPUs per process must be at least 1, got {}", config.gpus_per_process));
  if (backend == "mpi" && config.gpus_per_process != 1)
    throw UsageError(
        fmt::format("the mpi backend runs one rank per process; -g {} needs --backend nccl", config.gpus_per_process));
  world.bootstrap = make_bootstrap(config.bootstrap, backend, config.timeout);
#if AWSDT_HAVE_MPI
  if (backend == "mpi") world.comms.push_back(make_mpi_communicator(parse_mpi_wait(config.mpi_wait)));
#endif
#if AWSDT_HAVE_NCCL
  if (backend == "nccl") {
    int visible = cuda_device_count();
    int first = world.bootstrap->local_rank() * config.gpus_per_process;
    if (first + config.gpus_per_process > visible)
      throw UsageError(fmt::format("local rank {} needs GPUs {}..{} but {} are visible", world.bootstrap->local_rank(),
                                   first, first + config.gpus_per_process - 1, visible));
    std::vector<Device> devices;
    for (int i = 0; i < config.gpus_per_process; ++i) devices.push_back(Device::cuda(first + i));
    world.comms = make_nccl_communicators(*world.bootstrap, devices);
  }
#endif
  return world;
}

}  // namespace awsdt
