// GPU checks through NVML: inventory (count, model, persistence mode), ECC and NVLink.
#include <fmt/format.h>

#include "checks/checks.hpp"
#include "nvml.hpp"

namespace awsdt::health {
namespace {

// NVML's reading, or nullopt after the outcome says why there is none: SKIP where no GPUs are expected (a CPU
// node, an unknown instance type without a driver), the failure nvml_unavailable where the catalog expects GPUs.
std::optional<NvmlReading> gpus_or_explain(const Context& ctx, Outcome& out, bool with_nvlink) {
  if (ctx.expect && ctx.expect->gpus == 0) {
    out.skip(fmt::format("{} has no NVIDIA GPUs", ctx.expect->instance_type));
    return std::nullopt;
  }
  auto reading = read_nvml(ctx.settings.nvml_library, with_nvlink);
  if (!reading.error.empty()) {
    if (ctx.expect)
      out.fail("nvml_unavailable", fmt::format("{} has {} GPUs but NVML fails: {}", ctx.expect->instance_type,
                                               ctx.expect->gpus, reading.error));
    else
      out.skip("no NVIDIA driver here (" + reading.error + ")");
    return std::nullopt;
  }
  return reading;
}

// "H100" of the catalog's "H100-SXM5-80GB": what the driver's name must contain.
std::string catalog_model(const std::string& gpu) { return gpu.substr(0, gpu.find('-')); }

}  // namespace

void check_gpu_inventory(const Context& ctx, Outcome& out) {
  auto reading = gpus_or_explain(ctx, out, false);
  if (!reading) return;
  out.measured()["gpus"] = reading->gpus.size();
  if (ctx.expect && static_cast<int>(reading->gpus.size()) != ctx.expect->gpus)
    out.fail("count", fmt::format("{} GPUs visible, {} has {}", reading->gpus.size(), ctx.expect->instance_type,
                                  ctx.expect->gpus));
  for (const auto& g : reading->gpus) {
    out.measured()["names"].push_back(g.name);
    if (ctx.expect && g.name.find(catalog_model(ctx.expect->gpu)) == std::string::npos)
      out.fail("model",
               fmt::format("GPU {} is '{}', {} has {}", g.index, g.name, ctx.expect->instance_type, ctx.expect->gpu));
    if (g.persistence && !*g.persistence)
      out.fail("persistence_off", fmt::format("GPU {}: persistence mode off (nvidia-smi -pm 1)", g.index));
  }
  if (!ctx.expect) out.note("instance type unknown: count and model not compared (--instance-type)");
}

void check_gpu_ecc(const Context& ctx, Outcome& out) {
  auto reading = gpus_or_explain(ctx, out, false);
  if (!reading) return;
  constexpr unsigned kMaxSbePages = 60;  // the seed's MAX_RETIRED_PAGES_SBE
  for (const auto& g : reading->gpus) {
    auto& m = out.measured()["gpu" + std::to_string(g.index)];
    m["retired_dbe"] = g.retired_dbe.value_or(0);
    m["retired_sbe"] = g.retired_sbe.value_or(0);
    m["volatile_uncorrected"] = g.volatile_uncorrected.value_or(0);
    m["remap_pending"] = g.remap_pending.value_or(false);
    m["remap_failure"] = g.remap_failure.value_or(false);
    if (g.retired_dbe.value_or(0) > 0)
      out.fail("retired_dbe",
               fmt::format("GPU {}: {} pages retired for double-bit ECC errors", g.index, *g.retired_dbe));
    if (g.retired_pending.value_or(false))
      out.fail("retired_pending", fmt::format("GPU {}: page retirement pending (needs a reboot)", g.index));
    if (g.remap_failure.value_or(false))
      out.fail("remap_failure", fmt::format("GPU {}: row remapping failed", g.index));
    if (g.remap_pending.value_or(false))
      out.fail("remap_pending", fmt::format("GPU {}: row remapping pending (needs a reset or reboot)", g.index));
    if (g.volatile_uncorrected.value_or(0) > 0)
      out.fail("volatile_uncorrected", fmt::format("GPU {}: {} uncorrected ECC errors since the driver loaded", g.index,
                                                   *g.volatile_uncorrected));
    if (g.retired_sbe.value_or(0) > kMaxSbePages)
      out.fail("retired_sbe", fmt::format("GPU {}: {} pages retired for single-bit errors (more than {})", g.index,
                                          *g.retired_sbe, kMaxSbePages));
  }
}

void check_nvlink(const Context& ctx, Outcome& out) {
  if (ctx.expect && !ctx.expect->nvlink) {
    out.skip(fmt::format("{} has no NVLink", ctx.expect->instance_type));
    return;
  }
  auto reading = gpus_or_explain(ctx, out, true);
  if (!reading) return;
  int active = 0, links = 0;
  for (const auto& g : reading->gpus)
    for (const auto& l : g.nvlinks) {
      ++links;
      active += l.active;
      if (!l.active) out.fail("link_down", fmt::format("GPU {} NVLink {} is down", g.index, l.link));
      if (l.replay || l.recovery || l.crc)
        out.fail("link_errors", fmt::format("GPU {} NVLink {}: {} replay, {} recovery, {} CRC errors", g.index, l.link,
                                            l.replay, l.recovery, l.crc));
    }
  out.measured()["links"] = links;
  out.measured()["active"] = active;
  if (links == 0 && ctx.expect) out.fail("link_down", "NVML reports no NVLink on an NVLink instance");
  if (links == 0 && !ctx.expect) out.skip("no NVLink reported");
}

}  // namespace awsdt::health
