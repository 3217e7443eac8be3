// awsdt-fabric's output: a table per test as rows come, and the rows as JSON and CSV.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/summary.hpp"
#include "results/table.hpp"

namespace awsdt::fabric {

struct Row {
  std::string test;     ///< pingpong, bw, ...
  std::string message;  ///< msg or tagged
  std::string device;   ///< the domain
  std::uint64_t bytes = 0;
  int iterations = 0;
  Summary latency_us;       ///< per message
  double gbytes_per_s = 0;  ///< 1e9 bytes per second, from the mean latency
  double messages_per_s = 0;
  std::int64_t wrong = -1;  ///< -1: not checked
  double gbits_per_s() const { return gbytes_per_s * 8; }
};

/// Builds a row from one size's per-message latencies.
Row make_row(std::string test, std::string message, std::string device, std::uint64_t bytes, int iterations,
             const std::vector<double>& latency_us, std::int64_t wrong);

class TableReport {
 public:
  TableReport(std::FILE* out, bool enabled, bool check) : out_(out), enabled_(enabled), check_(check) {}
  void line(const std::string& text);
  void begin_test(const std::string& test, const std::string& message, const std::string& device);
  void row(const Row& row);

 private:
  std::FILE* out_;
  bool enabled_, check_;
};

nlohmann::json rows_json(const std::vector<Row>& rows);
Table rows_table(const std::vector<Row>& rows);

}  // namespace awsdt::fabric
