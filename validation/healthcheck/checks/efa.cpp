// EFA checks that read the node: devices in sysfs against the catalog, their uverbs files, kernel modules and
// hugepages (libfabric's own view is efa-provider, in fabric.cpp).
#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checks/checks.hpp"

namespace awsdt::health {
namespace {

constexpr const char* kAmazonVendor = "0x1d0f";

// The InfiniBand devices whose PCI vendor is Amazon's (EFA), and their PCI device ids.
std::vector<std::string> efa_devices(const NodeRoot& root, std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& dev : root.list("/sys/class/infiniband")) {
    auto base = "/sys/class/infiniband/" + dev + "/device/";
    if (root.read_line(base + "vendor").value_or("") != kAmazonVendor) continue;
    out.push_back(dev);
    ids.push_back(root.read_line(base + "device").value_or("?"));
  }
  return out;
}

std::vector<std::string> loaded_modules(const NodeRoot& root) {
  std::vector<std::string> out;
  std::istringstream in(root.read("/proc/modules").value_or(""));
  std::string line;
  while (std::getline(in, line)) out.push_back(line.substr(0, line.find(' ')));
  return out;
}

}  // namespace

void check_efa_devices(const Context& ctx, Outcome& out) {
  std::vector<std::string> ids;
  auto devices = efa_devices(ctx.root, ids);
  int expected = ctx.expect ? ctx.expect->efa : -1;
  out.measured()["devices"] = devices;
  out.measured()["pci_ids"] = ids;
  if (expected == 0 || (expected < 0 && devices.empty())) {
    out.skip(expected == 0 ? ctx.expect->instance_type + " has no EFA" : "no EFA devices and instance type unknown");
    return;
  }
  if (expected > 0 && static_cast<int>(devices.size()) != expected)
    out.fail("count", fmt::format("{} EFA devices in /sys/class/infiniband, {} has {}", devices.size(),
                                  ctx.expect->instance_type, expected));
  auto uverbs = ctx.root.list("/dev/infiniband");
  auto n_uverbs = std::count_if(uverbs.begin(), uverbs.end(), [](const auto& n) { return n.starts_with("uverbs"); });
  out.measured()["uverbs"] = n_uverbs;
  if (n_uverbs < static_cast<long>(devices.size()))
    out.fail("uverbs", fmt::format("{} /dev/infiniband/uverbs* files for {} EFA devices", n_uverbs, devices.size()));
  auto modules = loaded_modules(ctx.root);
  std::vector<std::string> missing;
  for (const char* m : {"efa", "ib_uverbs", "ib_core"})
    if (std::find(modules.begin(), modules.end(), m) == modules.end()) missing.push_back(m);
  if (!missing.empty()) out.fail("modules", fmt::format("kernel modules not loaded: {}", fmt::join(missing, ", ")));
  auto huge = ctx.root.meminfo("HugePages_Total").value_or(0);
  out.measured()["hugepages"] = huge;
  if (huge == 0) out.fail("hugepages", "no hugepages reserved (libfabric's EFA provider uses them for bounce buffers)");
}

}  // namespace awsdt::health
