// Node checks: /dev/shm, shared filesystems, free disk, limits, clock synchronisation, and the NVIDIA Fabric Manager
// on NVSwitch instances.
#include <algorithm>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "checks/checks.hpp"

namespace awsdt::health {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string limit_text(std::uint64_t v, const char* unit) {
  return v == std::numeric_limits<std::uint64_t>::max() ? "unlimited" : fmt::format("{} {}", v, unit);
}

}  // namespace

void check_shm(const Context& ctx, Outcome& out) {
  auto space = ctx.root.space("/dev/shm");
  if (!space) {
    out.fail("missing", "/dev/shm does not exist");
    return;
  }
  double gib = space->total / kGiB;
  out.measured()["size_gib"] = gib;
  // NCCL's shared-memory transport and PyTorch's data loaders need far more than a container's 64 MiB default.
  if (gib < ctx.settings.min_shm_gib)
    out.fail("small",
             fmt::format("/dev/shm is {:.3g} GiB, less than {} GiB (--min-shm-gib)", gib, ctx.settings.min_shm_gib));
}

void check_mounts(const Context& ctx, Outcome& out) {
  if (ctx.settings.require_mounts.empty()) {
    out.skip("no --require-mount given");
    return;
  }
  auto points = ctx.root.mount_points();
  for (const auto& m : ctx.settings.require_mounts) {
    bool mounted = std::find(points.begin(), points.end(), m) != points.end();
    out.measured()[m] = mounted;
    if (!mounted) out.fail("missing", fmt::format("{} is not mounted", m));
  }
}

void check_disk(const Context& ctx, Outcome& out) {
  auto space = ctx.root.space(ctx.settings.disk_path);
  if (!space) {
    out.fail("low", fmt::format("{} does not exist (--disk-path)", ctx.settings.disk_path));
    return;
  }
  double gib = space->available / kGiB;
  out.measured()["free_gib"] = gib;
  if (gib < ctx.settings.min_free_disk_gib)
    out.fail("low", fmt::format("{:.3g} GiB free on {}, less than {} GiB (--min-free-disk-gib)", gib,
                                ctx.settings.disk_path, ctx.settings.min_free_disk_gib));
}

void check_limits(const Context& ctx, Outcome& out) {
  auto memlock = ctx.root.soft_limit("Max locked memory");
  auto nofile = ctx.root.soft_limit("Max open files");
  if (memlock) {
    out.measured()["memlock_bytes"] = *memlock;
    // EFA registers every buffer it sends from: a small memlock fails NCCL's first large transfer.
    if (*memlock / 1024 < ctx.settings.min_memlock_kib)
      out.fail("memlock", fmt::format("locked-memory limit {} is below {} KiB (ulimit -l unlimited)",
                                      limit_text(*memlock, "bytes"), ctx.settings.min_memlock_kib));
  }
  if (nofile) {
    out.measured()["nofile"] = *nofile;
    if (*nofile < ctx.settings.min_nofile)
      out.fail("nofile", fmt::format("open-files limit {} is below {}", *nofile, ctx.settings.min_nofile));
  }
  if (!memlock && !nofile) out.skip("/proc/self/limits unreadable");
}

void check_fabric_manager(const Context& ctx, Outcome& out) {
  // NVSwitch instances (the catalog's NVLink ones) cannot run multi-GPU jobs without the Fabric Manager.
  if (!ctx.expect || !ctx.expect->nvlink) {
    out.skip(ctx.expect ? ctx.expect->instance_type + " has no NVSwitch" : "instance type unknown");
    return;
  }
  auto names = ctx.root.process_names();
  bool running = std::find(names.begin(), names.end(), "nv-fabricmanager") != names.end();
  out.measured()["running"] = running;
  if (!running) out.fail("not_running", "nv-fabricmanager is not running (systemctl start nvidia-fabricmanager)");
}

void check_clock(const Context& ctx, Outcome& out) {
  auto clock = ctx.root.clock_state();
  if (!clock) {
    out.skip("adjtimex(2) unreadable");
    return;
  }
  double max_ms = clock->maxerror_us / 1e3;
  out.measured()["synchronised"] = !clock->unsynchronised;
  out.measured()["maxerror_ms"] = max_ms;
  out.measured()["esterror_ms"] = clock->esterror_us / 1e3;
  // Unsynchronised from boot (no chronyd or ntpd), or since the daemon's error bound passed 16 s (the kernel's
  // NTP_PHASE_LIMIT): Munge credentials, AWS request signatures and logs across nodes all need agreeing clocks.
  if (clock->unsynchronised)
    out.fail("unsynchronised",
             "the system clock is not synchronised (adjtimex: STA_UNSYNC; is chronyd running? chronyc tracking)");
  else if (max_ms > ctx.settings.max_clock_error_ms)
    out.fail("max_error", fmt::format("the clock's maximum error is {:.0f} ms, above {} ms (--max-clock-error-ms): "
                                      "its time daemon has not updated it lately (chronyc tracking)",
                                      max_ms, ctx.settings.max_clock_error_ms));
}

}  // namespace awsdt::health
