// Xid events (the NVIDIA driver's error reports in the kernel log) and the action each asks for, from the seed's
// table (data/xid_actions.json, compiled in).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "severity.hpp"

namespace awsdt::health {

/// One Xid line of the kernel log.
struct XidEvent {
  int xid = 0;
  std::string pci;      ///< the GPU's PCI address as the driver prints it ("PCI:0000:53:00")
  std::string message;  ///< the rest of the line
};

/// The severity the table gives `xid` on a GPU whose driver name is `gpu_name` ("" unknown), with the event's
/// text `message` for the Xids whose action the driver writes into it (154).
Severity xid_severity(int xid, std::string_view gpu_name, std::string_view message);
/// What the table says the Xid means ("" when it has no row).
std::string xid_meaning(int xid);
/// Every Xid listed in the table (for tests and docs).
std::vector<int> xid_table_ids();

/// The Xid events of a kernel log ("NVRM: Xid (PCI:0000:53:00): 79, pid=..., GPU has fallen off the bus"),
/// as dmesg, journalctl -k or /dev/kmsg records print them.
std::vector<XidEvent> parse_xid_events(std::string_view log);

}  // namespace awsdt::health
