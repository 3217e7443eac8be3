// EFA through libfabric: the provider fi_getinfo offers (efa-provider) and a loopback bandwidth test on each of its
// devices (efa-loopback), run by awsdt-fabric's own code (awsdt_fabric_lib). Builds without libfabric skip both.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checks/checks.hpp"

#ifdef AWSDT_HEALTH_HAVE_LIBFABRIC
#include "provider.hpp"
#include "runner.hpp"
#endif

namespace awsdt::health {
namespace {

// Whether this instance should have EFA at all; skips the outcome and returns false when not.
bool efa_expected(const Context& ctx, Outcome& out) {
  if (ctx.expect && ctx.expect->efa == 0) {
    out.skip(ctx.expect->instance_type + " has no EFA");
    return false;
  }
  if (!ctx.expect && ctx.settings.efa_provider == "efa" && ctx.root.list("/sys/class/infiniband").empty()) {
    out.skip("no InfiniBand devices and instance type unknown");
    return false;
  }
  return true;
}

}  // namespace

#ifdef AWSDT_HEALTH_HAVE_LIBFABRIC

void check_efa_provider(const Context& ctx, Outcome& out) {
  if (!efa_expected(ctx, out)) return;
  fabric::Request request{ctx.settings.efa_provider, "", false, false};
  if (!fabric::find_info(request)) {
    out.fail("provider_missing", fmt::format("fi_getinfo offers no RDM endpoint on provider '{}' (found: {})",
                                             ctx.settings.efa_provider, fmt::join(fabric::rdm_providers(), ", ")));
    return;
  }
  out.measured()["domains"] = fabric::domains_of(request);
}

void check_efa_loopback(const Context& ctx, Outcome& out) {
  if (!efa_expected(ctx, out)) return;
  fabric::Options options;
  options.tests = {fabric::TestKind::bw};
  options.min_bytes = options.max_bytes = 1 << 20;
  options.timing.iters = 50;
  options.timing.warmup = 5;
  options.loopback = true;
  fabric::Plan plan{ctx.settings.efa_provider, {}, Device::cpu()};
  // A provider that is missing, or a device whose loopback cannot run, is the device failing (not the check).
  fabric::Request request{plan.provider, "", false, false};
  if (fabric::find_info(request)) plan.devices = fabric::domains_of(request);
  if (plan.devices.empty()) {
    out.fail("failed", fmt::format("no '{}' device to loop back on (providers here: {})", plan.provider,
                                   fmt::join(fabric::rdm_providers(), ", ")));
    return;
  }
  fabric::TableReport quiet(stdout, false, false);
  fabric::Outcome result;
  try {
    result = fabric::run_loopback(options, plan, quiet);
  } catch (const std::exception& e) {
    out.fail("failed", fmt::format("loopback on '{}' failed: {}", plan.provider, e.what()));
    return;
  }
  for (const auto& row : result.rows) {
    out.measured()[row.device] = row.gbits_per_s();
    if (row.gbits_per_s() < ctx.settings.efa_min_gbps)
      out.fail("slow", fmt::format("{} loopback {:.1f} Gbit/s at 1 MiB, below {} (--efa-min-gbps)", row.device,
                                   row.gbits_per_s(), ctx.settings.efa_min_gbps));
  }
  if (result.rows.size() < plan.devices.size())
    out.fail("failed", fmt::format("{} of {} devices measured", result.rows.size(), plan.devices.size()));
}

#else

void check_efa_provider(const Context& ctx, Outcome& out) {
  if (efa_expected(ctx, out)) out.skip("built without libfabric");
}
void check_efa_loopback(const Context& ctx, Outcome& out) {
  if (efa_expected(ctx, out)) out.skip("built without libfabric");
}

#endif

}  // namespace awsdt::health
