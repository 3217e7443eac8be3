// Output of awsdt-collectives in nccl-tests' layout (so existing log parsers read it unchanged), plus the
// straggler footer, the JSON result document (-J) and CSV (--csv).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "comm/registry.hpp"
#include "harness.hpp"
#include "results/result.hpp"
#include "results/table.hpp"

namespace awsdt::collectives {

/// nccl-tests' adaptive number format: as many decimals as fit in `width` characters.
std::string format_number(double value, int width);

/// Prints rows live on rank 0 in nccl-tests' table layout.
class TableReport final : public RowSink {
 public:
  TableReport(const Options& options, std::FILE* out, bool enabled);
  /// The "# nThread ... / # Using devices" preamble.
  void preamble(const CommWorld& world, const std::vector<std::string>& device_lines);
  void begin_collective(const Collective& c) override;
  void row(const Row& row) override;
  /// Out-of-bounds and average bus bandwidth lines, straggler notes; returns the average bus bandwidth.
  double footer(const std::vector<Row>& rows);

 private:
  void header();
  std::string half(const std::optional<Measurement>& m) const;
  const Options& options_;
  std::FILE* out_;
  bool enabled_;
  const Collective* current_ = nullptr;
};

/// Average of busbw over every measured half (nccl-tests' "Avg bus bandwidth").
double average_busbw(const std::vector<Row>& rows);
/// Total wrong elements over every checked half.
std::int64_t total_wrong(const std::vector<Row>& rows);
/// One nccl-tests -J result object per row (size, count, type, redop, root, out_of_place, in_place, ...).
nlohmann::json rows_json(const std::vector<Row>& rows, int iters);
/// One CSV row per size.
Table rows_table(const std::vector<Row>& rows);
/// Ranks that disagree by more than 5% and more than 5 us straggle (a smaller gap is a busy host's noise).
inline constexpr double kStragglerRelative = 0.05;
inline constexpr double kStragglerFloorUs = 5.0;
/// One note per measurement whose ranks disagree by more than `relative` and `floor_us`: where stragglers show.
std::vector<std::string> straggler_notes(const std::vector<Row>& rows, double relative = kStragglerRelative,
                                         double floor_us = kStragglerFloorUs);
/// The same, one line per collective: how many measurements straggled and the widest one (the table's default).
std::vector<std::string> straggler_summary(const std::vector<Row>& rows, double relative = kStragglerRelative,
                                           double floor_us = kStragglerFloorUs);

}  // namespace awsdt::collectives
