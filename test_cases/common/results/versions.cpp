// Version probes (see versions.hpp). Each optional component is probed only when built with it.
#include "results/versions.hpp"

#include <fstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "awsdt/config.hpp"
#include "device/cuda/cuda_api.hpp"

#if AWSDT_HAVE_MPI
#include <mpi.h>
#endif
#if AWSDT_HAVE_NCCL
#include <nccl.h>
#endif
#if AWSDT_HAVE_LIBFABRIC
#include <dlfcn.h>
#include <rdma/fabric.h>
#endif

namespace awsdt {
namespace {

std::string cuda_version_string(int v) { return v > 0 ? fmt::format("{}.{}", v / 1000, (v % 1000) / 10) : "-"; }

std::string first_line_of_file(const std::string& path, const std::string& containing) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.find(containing) != std::string::npos) return line;
  return {};
}

ComponentVersion probe_cuda_runtime() {
  return {"cuda_runtime", AWSDT_HAVE_CUDA ? AWSDT_CUDA_VERSION : "-",
          cuda_version_string(cuda::available() ? cuda::api().runtime_version() : 0), ""};
}

ComponentVersion probe_cuda_driver() {
  ComponentVersion v{"cuda_driver", "-", cuda_version_string(cuda::available() ? cuda::api().driver_version() : 0), ""};
  auto line = first_line_of_file("/proc/driver/nvidia/version", "Kernel Module");
  if (!line.empty()) v.detail = line;
  return v;
}

ComponentVersion probe_nccl() {
  ComponentVersion v{"nccl", "-", "-", ""};
#if AWSDT_HAVE_NCCL
  v.compiled = fmt::format("{}.{}.{}", NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH);
  int code = 0;
  if (ncclGetVersion(&code) == ncclSuccess) {
    // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
    v.runtime = fmt::format("{}.{}.{}", code / 10000, (code % 10000) / 100, code % 100);
  }
#endif
  return v;
}

ComponentVersion probe_mpi() {
  ComponentVersion v{"mpi", "-", "-", ""};
#if AWSDT_HAVE_MPI
#ifdef OMPI_MAJOR_VERSION
  v.compiled = fmt::format("Open MPI {}.{}.{}", OMPI_MAJOR_VERSION, OMPI_MINOR_VERSION, OMPI_RELEASE_VERSION);
#else
  v.compiled = fmt::format("MPI {}.{}", MPI_VERSION, MPI_SUBVERSION);
#endif
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  if (MPI_Get_library_version(buf, &len) == MPI_SUCCESS) {
    std::string s(buf, std::size_t(len));
    auto comma = s.find(',');
    v.runtime = s.substr(0, std::min(comma, s.find('\n')));
  }
#endif
  return v;
}

ComponentVersion probe_libfabric() {
  ComponentVersion v{"libfabric", "-", "-", ""};
#if AWSDT_HAVE_LIBFABRIC
  v.compiled = fmt::format("{}.{}", FI_MAJOR_VERSION, FI_MINOR_VERSION);
  // The library found at run time (the EFA installer's in /opt/amazon/efa first), loaded only for this probe.
  void* lib = dlopen("/opt/amazon/efa/lib/libfabric.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return v;
  auto version = reinterpret_cast<uint32_t (*)()>(dlsym(lib, "fi_version"));
  auto getinfo = reinterpret_cast<int (*)(uint32_t, const char*, const char*, uint64_t, const fi_info*, fi_info**)>(
      dlsym(lib, "fi_getinfo"));
  auto freeinfo = reinterpret_cast<void (*)(fi_info*)>(dlsym(lib, "fi_freeinfo"));
  if (version) v.runtime = fmt::format("{}.{}", FI_MAJOR(version()), FI_MINOR(version()));
  std::set<std::string> providers;
  fi_info* info = nullptr;
  if (getinfo && freeinfo && getinfo(FI_VERSION(1, 9), nullptr, nullptr, 0, nullptr, &info) == 0) {
    for (auto* i = info; i; i = i->next)
      if (i->fabric_attr && i->fabric_attr->prov_name) providers.insert(i->fabric_attr->prov_name);
    freeinfo(info);
  }
  v.detail = providers.empty() ? "no providers" : fmt::format("providers: {}", fmt::join(providers, ","));
#endif
  return v;
}

ComponentVersion probe_efa_installer() {
  ComponentVersion v{"efa_installer", "-", "-", ""};
  auto line = first_line_of_file("/opt/amazon/efa_installed_packages", "EFA installer version");
  if (!line.empty()) v.runtime = line.substr(line.find(':') + 1), v.runtime.erase(0, v.runtime.find_first_not_of(' '));
  return v;
}

}  // namespace

std::vector<ComponentVersion> collect_versions() {
  return {{"awsdt", AWSDT_VERSION, AWSDT_VERSION, fmt::format("git {}", AWSDT_GIT_SHA)},
          probe_cuda_runtime(),
          probe_cuda_driver(),
          probe_nccl(),
          probe_mpi(),
          probe_libfabric(),
          probe_efa_installer()};
}

nlohmann::json versions_json(const std::vector<ComponentVersion>& versions) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& v : versions)
    j[v.component] = {{"compiled", v.compiled}, {"runtime", v.runtime}, {"detail", v.detail}};
  return j;
}

}  // namespace awsdt
