// A benchmark's latest figures as a Prometheus text file (node_exporter's textfile format), rewritten atomically
// at every logged step, so that awsdt-exporter (its `awsdt` collector) or node_exporter's textfile collector
// serves a running job's loss, throughput and communication beside the node's hardware counters.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "util/cli_fwd.hpp"

namespace awsdt {

/// One gauge of a metrics file. `name` is the whole metric name (awsdt_loss); `labels` are added to the file's
/// own (benchmark, job, rank), e.g. {"collective", "all_reduce"}.
struct MetricValue {
  std::string name;
  std::string help;
  double value = 0;
  std::vector<std::pair<std::string, std::string>> labels = {};
};

/// The file behind --metrics-file. Disabled (every write a no-op) when the path is empty or this rank does not
/// write: a path with `{rank}` is written by every rank (the placeholder replaced), one without it by rank 0 only.
class MetricsFile {
 public:
  MetricsFile() = default;
  /// `benchmark` names the writer (fsdp, collectives, megatron); the job label comes from metrics_job_label().
  /// Throws UsageError naming the path when its directory does not exist.
  MetricsFile(const std::string& path, std::string benchmark, int rank);

  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  /// Replaces the file's content with `values` and awsdt_step_timestamp_seconds, the time of the write (temporary
  /// file + rename: a reader never sees half a file).
  void write(const std::vector<MetricValue>& values) const;

 private:
  std::string path_;
  std::vector<std::pair<std::string, std::string>> labels_;
};

/// The text of a metrics file: HELP and TYPE once per metric name, then one sample per value, in order; each
/// sample carries `labels` then its own. Label values are escaped as the exposition format requires.
std::string metrics_text(const std::vector<MetricValue>& values,
                         const std::vector<std::pair<std::string, std::string>>& labels);

/// The job label: $AWSDT_METRICS_JOB, else $SLURM_JOB_ID, $AWS_BATCH_JOB_ID, the job directory's name
/// ($AWSDT_JOB_DIR, set by `awsdt run` on this machine), else "local".
std::string metrics_job_label();

/// Adds --metrics-file PATH.
void add_metrics_file_option(CLI::App& app, std::string& path);

}  // namespace awsdt
