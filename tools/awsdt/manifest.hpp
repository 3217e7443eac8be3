// Test case manifests (test_cases/<name>/test_case.json): how the launcher finds and describes benchmarks.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awsdt::launcher {

struct Manifest {
  std::string name;
  std::string executable;                 ///< awsdt-<name>, found beside the awsdt binary
  std::string description;                ///< one line
  std::vector<std::string> default_args;  ///< arguments of a local run, and of every run without cluster_args
  /// Arguments on a cluster's GPU nodes (a real model, nccl-tests' sizes): what a local run can afford is a toy
  /// there. Empty: default_args everywhere.
  std::vector<std::string> cluster_args;
  /// The executable's subcommands (awsdt-megatron: gemm, train), each with flags of its own: a user who names
  /// another one after `--` gets none of the defaults' flags (see merge_args).
  std::vector<std::string> subcommands;
  int tasks_per_node = 1;  ///< ranks per node on GPU instances (one per GPU)
  /// One rank per node whatever the node's GPUs (awsdt-healthcheck: a node check runs once per node and sees every
  /// GPU); --tasks-per-node still overrides it.
  bool one_rank_per_node = false;
  int gpus_per_node = 0;
  int local_ranks = 2;  ///< ranks for a local CPU run
  std::vector<std::string> metrics;
  std::string result_flag;  ///< the benchmark's flag for its JSON result file (-J, --output); "" = none
  /// The benchmark's flag for a checkpoint directory it resumes from (--checkpoint-dir); "" = it does not
  /// checkpoint. The launcher passes a directory that survives a requeue (see checkpoint_args.hpp).
  std::string checkpoint_flag;
  /// The benchmark's flag that parses and validates the rest of its command line for N ranks and exits
  /// (`--check-args N`): `awsdt run` runs it before submitting. "" = the benchmark has none.
  std::string check_args_flag;
  std::filesystem::path path;  ///< the manifest file
};

/// Reads one manifest; throws UsageError naming the file and the bad field.
Manifest load_manifest(const std::filesystem::path& file);
/// Where manifests are searched: --test-cases DIR if given, else test_cases/ and validation/ (the benchmarks and
/// the node tools) of $AWSDT_HOME, else of the source tree this awsdt was built from.
std::vector<std::filesystem::path> test_cases_dir(const std::string& override_dir);
/// Every <name>/test_case.json under `dir`, sorted by name.
std::vector<Manifest> find_manifests(const std::filesystem::path& dir);
/// Every <name>/test_case.json under each of `dirs`, sorted by name.
std::vector<Manifest> find_manifests(const std::vector<std::filesystem::path>& dirs);
/// The manifest called `name`; throws UsageError listing the known names.
Manifest find_manifest(const std::vector<std::filesystem::path>& dirs, const std::string& name);
Manifest find_manifest(const std::filesystem::path& dir, const std::string& name);

}  // namespace awsdt::launcher
