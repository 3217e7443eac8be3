// Reading Prometheus' text exposition format, as metrics files hold it (node_exporter's textfile format): the
// awsdt collector re-serves the files the benchmarks write with --metrics-file.
#pragma once

#include <string>
#include <vector>

#include "collector.hpp"

namespace awsdt::exporter {

/// Adds every sample of `text` to `out` (HELP and TYPE lines give the family's help and type; a sample without
/// them is untyped; timestamps are dropped, the scrape's own time is the sample's). Returns "" or, for text that
/// is not in the format, the first bad line's number and why, having added nothing.
std::string parse_text_format(const std::string& text, FamilySet& out);

}  // namespace awsdt::exporter
