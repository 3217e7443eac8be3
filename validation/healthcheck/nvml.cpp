// The GPUs' health as NVML reports it (see nvml.hpp), through the node tools' shared loader (validation/common/nvml).
#include "nvml.hpp"

#include <fmt/format.h>

#include "nvml_api.hpp"

namespace awsdt::health {
namespace {

using nvml::Api;
using nvml::Device;
constexpr int kCauseSbe = 0, kCauseDbe = 1;  // nvmlPageRetirementCause_t

std::optional<unsigned> retired(const Api& api, Device d, int cause) {
  if (!api.retired_pages) return std::nullopt;
  unsigned count = 0;
  auto r = api.retired_pages(d, cause, &count, nullptr);
  if (r == nvml::kSuccess || r == nvml::kInsufficientSize) return count;
  return std::nullopt;
}

void read_ecc(const Api& api, Device d, GpuReading& g) {
  g.retired_sbe = retired(api, d, kCauseSbe);
  g.retired_dbe = retired(api, d, kCauseDbe);
  int pending = 0;
  if (api.retired_pending && api.retired_pending(d, &pending) == nvml::kSuccess) g.retired_pending = pending != 0;
  unsigned long long uncorrected = 0;
  if (api.ecc_total && api.ecc_total(d, nvml::kUncorrected, nvml::kVolatile, &uncorrected) == nvml::kSuccess)
    g.volatile_uncorrected = uncorrected;
  unsigned corr = 0, unc = 0, is_pending = 0, failure = 0;
  if (api.remapped_rows && api.remapped_rows(d, &corr, &unc, &is_pending, &failure) == nvml::kSuccess) {
    g.remap_pending = is_pending != 0;
    g.remap_failure = failure != 0;
  }
}

void read_nvlinks(const Api& api, Device d, GpuReading& g) {
  if (!api.link_state) return;
  for (unsigned l = 0; l < nvml::kMaxLinks; ++l) {
    int active = 0;
    if (api.link_state(d, l, &active) != nvml::kSuccess) continue;  // links this GPU does not have
    unsigned long long v[4] = {0, 0, 0, 0};
    if (api.link_errors)
      for (int c : {nvml::kReplay, nvml::kRecovery, nvml::kCrcFlit, nvml::kCrcData}) api.link_errors(d, l, c, &v[c]);
    g.nvlinks.push_back({l, active != 0, v[nvml::kReplay], v[nvml::kRecovery], v[nvml::kCrcFlit] + v[nvml::kCrcData]});
  }
}

}  // namespace

NvmlReading read_nvml(const std::string& library, bool with_nvlink) {
  NvmlReading out;
  nvml::Library lib(library);
  out.error = lib.error();
  if (!out.error.empty()) return out;
  const auto& api = lib.api();
  unsigned n = 0;
  if (auto r = api.count(&n); r != nvml::kSuccess)
    out.error = fmt::format("nvmlDeviceGetCount_v2 failed (NVML error {})", r);
  for (unsigned i = 0; i < n && out.error.empty(); ++i) {
    Device d = nullptr;
    if (auto r = api.by_index(i, &d); r != nvml::kSuccess) {
      out.error = fmt::format("GPU {}: nvmlDeviceGetHandleByIndex_v2 failed (NVML error {})", i, r);
      break;
    }
    GpuReading g;
    g.index = i;
    char name[96] = {};
    if (api.name(d, name, sizeof name) == nvml::kSuccess) g.name = name;
    int mode = 0;
    if (api.persistence && api.persistence(d, &mode) == nvml::kSuccess) g.persistence = mode != 0;
    read_ecc(api, d, g);
    if (with_nvlink) read_nvlinks(api, d, g);
    out.gpus.push_back(std::move(g));
  }
  return out;
}

}  // namespace awsdt::health
