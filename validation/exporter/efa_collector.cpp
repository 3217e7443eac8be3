// The efa collector (see efa_collector.hpp).
#include "efa_collector.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "sysfs_value.hpp"

namespace awsdt::exporter {
namespace fs = std::filesystem;
using prometheus::MetricType;

namespace {

// Entries of a directory, sorted (a stable exposition order); empty when it is gone, as a device that vanishes
// in the middle of a scrape is.
std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

// A file name as a metric name's tail: anything outside [a-zA-Z0-9_] becomes '_'.
std::string metric_suffix(std::string name) {
  for (char& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  return name;
}

}  // namespace

std::string EfaCollector::collect(FamilySet& out) const {
  const fs::path root = sysfs_ / "class" / "infiniband";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return fmt::format("no EFA devices: {} does not exist", root.string());
  for (const fs::path& dev : sorted_entries(root)) {
    const std::string device = dev.filename().string();
    out.add("node_amazonefa_info", "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
            MetricType::Gauge, {{"device", device}}, 1);
    for (const fs::path& port : sorted_entries(dev / "ports")) collect_port(out, device, port);
  }
  return "";
}

void EfaCollector::collect_port(FamilySet& out, const std::string& device, const fs::path& port_dir) const {
  const std::map<std::string, std::string> labels{{"device", device}, {"port", port_dir.filename().string()}};
  // Files that are unreadable, vanished since the listing, "N/A (no PMA)" or not a number are skipped: one bad
  // file must not cost the scrape its other counters.
  for (const fs::path& file : sorted_entries(port_dir / "hw_counters")) {
    const auto text = read_attribute(file);
    const auto value = text ? parse_counter(*text) : std::nullopt;
    if (!value) continue;
    const std::string counter = file.filename().string();
    out.add("node_amazonefa_" + metric_suffix(counter),
            fmt::format("EFA hardware counter {} (sysfs ports/<port>/hw_counters/{}).", counter, counter),
            MetricType::Counter, labels, static_cast<double>(*value));
  }
  if (auto t = read_attribute(port_dir / "state"); t)
    if (auto id = parse_state_id(*t))
      out.add("node_amazonefa_port_state_id", "Port state: 1 down, 2 init, 3 armed, 4 active, 5 active defer.",
              MetricType::Gauge, labels, *id);
  if (auto t = read_attribute(port_dir / "phys_state"); t)
    if (auto id = parse_state_id(*t))
      out.add("node_amazonefa_port_physical_state_id", "Physical port state (5: LinkUp).", MetricType::Gauge, labels,
              *id);
  if (auto t = read_attribute(port_dir / "rate"); t)
    if (auto rate = parse_rate_bytes(*t))
      out.add("node_amazonefa_port_rate_bytes_per_second", "Port's signalling rate in bytes per second.",
              MetricType::Gauge, labels, *rate);
}

}  // namespace awsdt::exporter
