// Output of awsdt-megatron gemm: a table in nccl-tests' spirit printed live on rank 0 (every figure of a row on
// one line), the rows as JSON for the result document (-J) and as CSV (--csv).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench.hpp"
#include "bench/metrics_file.hpp"
#include "results/table.hpp"

namespace awsdt::megatron {

/// The column header, as '#' lines.
std::string table_header();
/// One row's line; `peak_flops` (per rank, 0: unknown) gives the % of peak column.
std::string table_line(const Row& row, double peak_flops);
/// The rows as the result document's "rows".
nlohmann::json rows_json(const std::vector<Row>& rows, double peak_flops);
/// One CSV row per measurement.
Table rows_table(const std::vector<Row>& rows, double peak_flops);
/// --metrics-file: the `step`th measured row (one pattern, method and shape) as awsdt-exporter serves it.
std::vector<MetricValue> row_metrics(const Row& row, int step);

}  // namespace awsdt::megatron
