// gpu-xid: the Xid events in the kernel log, each worth what the seed's Xid table says.
#include <map>

#include <fmt/format.h>

#include "checks/checks.hpp"
#include "xid.hpp"

namespace awsdt::health {

void check_gpu_xid(const Context& ctx, Outcome& out) {
  auto log = ctx.root.kernel_log();
  if (!log) {
    out.fail("kernel_log_unreadable", "cannot read the kernel log (/dev/kmsg; run as root)");
    return;
  }
  // The GPU's name picks table rows that differ by model (64 and 95 on A100); NVML is not needed for that when
  // the catalog names it.
  std::string gpu = ctx.expect ? ctx.expect->gpu : "";
  std::map<int, int> counts;
  for (const auto& e : parse_xid_events(*log)) {
    if (counts[e.xid]++) continue;  // one failure per Xid, with the first event's text
    auto meaning = xid_meaning(e.xid);
    out.fail_with(
        xid_severity(e.xid, gpu, e.message), "xid",
        fmt::format("Xid {} on {}{}: {}", e.xid, e.pci, meaning.empty() ? "" : " (" + meaning + ")", e.message));
  }
  for (const auto& [xid, n] : counts) out.measured()["xids"][std::to_string(xid)] = n;
}

}  // namespace awsdt::health
