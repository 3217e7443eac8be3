// The awsdt collector (see awsdt_collector.hpp).
#include "awsdt_collector.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "text_format.hpp"

namespace awsdt::exporter {
namespace fs = std::filesystem;
using prometheus::MetricType;

namespace {

double mtime_seconds(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return 0;
  return double(st.st_mtim.tv_sec) + double(st.st_mtim.tv_nsec) * 1e-9;
}

}  // namespace

std::string AwsdtCollector::collect(FamilySet& out) const {
  std::vector<fs::path> files;
  std::error_code ec;
  // Only *.prom, as node_exporter's textfile collector: the writers' temporary files are named otherwise.
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".prom") files.push_back(it->path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    if (!in && !fs::exists(file)) continue;  // removed since the listing: its job has ended
    std::stringstream text;
    text << in.rdbuf();
    FamilySet parsed;
    const std::string why = in ? parse_text_format(text.str(), parsed) : "cannot be read";
    const std::map<std::string, std::string> labels{{"file", file.filename().string()}};
    out.add("awsdt_exporter_metrics_file_error", "1 when a metrics file could not be read or parsed, else 0.",
            MetricType::Gauge, labels, why.empty() ? 0 : 1);
    if (!why.empty()) {
      spdlog::warn("awsdt collector: {} skipped: {}", file.string(), why);
      continue;
    }
    out.add("awsdt_exporter_metrics_file_mtime_seconds", "When a metrics file was last rewritten (Unix time).",
            MetricType::Gauge, labels, mtime_seconds(file));
    for (const auto& family : parsed.take()) out.append(family);
  }
  return "";
}

}  // namespace awsdt::exporter
