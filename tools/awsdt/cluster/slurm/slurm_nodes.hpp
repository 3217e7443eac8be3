// What a Slurm partition's nodes offer, asked of the cluster (sinfo) when the user named no instance type: a job
// rendered for 8 GPUs on a CPU partition fails in sbatch with an invalid GRES, one for none on GPU nodes wastes them.
#pragma once

#include <map>
#include <string>

#include "catalog.hpp"

namespace awsdt::launcher {

struct SlurmNodes {
  std::string partition;       ///< as asked ("" = the default partition), or the default one sinfo named
  bool learned = false;        ///< false: sinfo could not be asked; nothing below is known
  int gpus = 0;                ///< GRES gpu count per node
  int cpus = 0;                ///< CPUs per node
  std::string gres, features;  ///< as sinfo printed them
  std::string instance_type;   ///< a feature that names a catalog instance type (ParallelCluster, HyperPod), or ""
  std::string why;             ///< how it was learned, or why nothing could be
  /// The record kept in jobspec.json ("inferred").
  std::map<std::string, std::string> record() const;
};

/// Reads `sinfo -h -o "%P|%G|%c|%f"` output: the line of `partition` ("" = the default one, marked '*').
SlurmNodes parse_sinfo(const std::string& out, const std::string& partition, const Catalog& catalog);
/// Asks the cluster (sinfo, a few seconds at most); `learned` is false when it cannot be asked.
SlurmNodes ask_slurm(const std::string& partition, const Catalog& catalog);

}  // namespace awsdt::launcher
