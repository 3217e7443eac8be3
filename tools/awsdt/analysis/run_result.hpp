// One run's results, whatever wrote them, in the form `awsdt results` compares, gates and draws: awsdt's result
// documents (collectives, fsdp, megatron), nccl-tests' -J JSON and its text table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awsdt::launcher {

/// One measured figure: `series` groups points drawn as one line (a collective, a pattern and method), `x` is
/// where it sits on that line (bytes, step, M), `name` the figure (busbw, loss, t_us, ...).
struct Point {
  std::string series;
  double x = 0;
  std::string name;
  double value = 0;
};

/// A headline figure gates compare: better when higher (bandwidth, tokens/s) or lower (time, memory).
struct Metric {
  std::string name;
  double value = 0;
  bool higher_is_better = true;
};

struct RunResult {
  std::string source;     ///< the file, or "job N (file)"
  std::string benchmark;  ///< collectives, fsdp, megatron
  std::string started_at;
  int world_size = 0;
  /// What two runs must share to be compared (test case, model shape, ranks, collectives), by field.
  std::map<std::string, std::string> identity;
  std::map<std::string, std::string> versions;  ///< CUDA, NCCL, EFA, libfabric, MPI recorded at run time
  nlohmann::json config, summary;
  std::vector<Point> points;
  std::vector<Metric> metrics;
};

/// Reads `file`: an awsdt result document, nccl-tests' -J JSON, or an nccl-tests text table (a log). Throws
/// UsageError naming the file and what it is not.
RunResult read_result(const std::string& file);
/// Interprets an already parsed awsdt or nccl-tests JSON document (`source` names it in messages).
RunResult interpret_document(const nlohmann::json& doc, const std::string& source);
/// Parses nccl-tests' text table (the lines of its stdout). nccl-tests does not print the collective's name: it
/// comes from "# Collective test starting:" lines (awsdt-collectives prints them), else from `source`'s file name
/// (all_reduce_perf.log), else "nccl-tests".
RunResult parse_nccl_tests_table(const std::string& text, const std::string& source);

}  // namespace awsdt::launcher
