// Sharded checkpoints on a shared filesystem, the way FSDP's SHARDED_STATE_DICT does it: every shard of the
// training state is written by the rank that owns it, in parallel, and a checkpoint exists only once its
// metadata is written last, atomically (temporary file, fsync, rename, fsync of the directory). A crash or
// SIGKILL in the middle of a save leaves a directory without metadata, which resume ignores.
//
//   DIR/step_00000040/shard_00000_of_00002.safetensors   unit.<u>.param, unit.<u>.exp_avg, unit.<u>.exp_avg_sq
//   DIR/step_00000040/shard_00001_of_00002.safetensors   (flat F32 slices [i·shard, (i+1)·shard) of the padded
//   DIR/step_00000040/metadata.json                       unit buffers; readable by any safetensors tool)
//
// Shard files hold flat slices, so a run with another number of ranks reads its own ranges from whichever old
// files overlap them: resharding needs no conversion step.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace awsdt::train {

/// Identifies the format in metadata.json; a directory with another value is not ours.
inline constexpr const char* kCheckpointFormat = "awsdt-fsdp-checkpoint";
inline constexpr int kCheckpointVersion = 1;

/// The directory of the checkpoint after `step` completed steps: DIR/step_%08d.
std::string checkpoint_path(const std::string& dir, std::int64_t step);
/// The name of shard file i of n inside a checkpoint directory; with tensor parallelism (tp > 1) each
/// tensor-parallel rank's slices have their own files (tp_RRR_of_TTT_shard_...).
std::string shard_file_name(int i, int n, int tp_rank = 0, int tp = 1);

/// The newest complete checkpoint (one with metadata.json) under dir, or nullopt (also when dir does not exist).
std::optional<std::string> find_latest_checkpoint(const std::string& dir);

/// A checkpoint whose metadata has been read and checked.
struct CheckpointInfo {
  std::string path;       ///< its directory
  nlohmann::json meta;    ///< metadata.json
  std::int64_t step = 0;  ///< completed optimizer steps
  int shards = 1;         ///< shard files (the shard group size it was written with)
};

/// Reads path/metadata.json and checks the format, the version and every shard file's presence and size.
/// Throws UsageError naming the checkpoint and what is wrong (missing, truncated, foreign, malformed).
CheckpointInfo open_checkpoint(const std::string& path);

/// Resolves --resume against --checkpoint-dir: "none" → nullopt; "auto" → the newest complete checkpoint in dir
/// (nullopt when there is none); otherwise a checkpoint directory, or a directory of checkpoints (its newest).
std::optional<CheckpointInfo> resolve_resume(const std::string& resume, const std::string& dir);

/// One named flat F32 tensor of a shard file.
struct ShardTensor {
  std::string name;             ///< e.g. unit.3.exp_avg
  std::span<const float> data;  ///< its elements
};

/// Writes tensors as a safetensors file at path (temporary file, fsync, rename); returns the file's size.
std::uint64_t write_shard_file(const std::string& path, std::span<const ShardTensor> tensors);

/// Random access to the tensors of one shard file.
class ShardFile {
 public:
  /// Opens path and parses its header; throws UsageError naming the file when it is not a valid shard file.
  explicit ShardFile(std::string path);
  ~ShardFile();
  ShardFile(const ShardFile&) = delete;
  ShardFile& operator=(const ShardFile&) = delete;
  /// Elements of tensor name.
  std::uint64_t size(const std::string& name) const;
  /// Reads elements [offset, offset + out.size()) of tensor name into out.
  void read(const std::string& name, std::uint64_t offset, std::span<float> out) const;

 private:
  struct Entry {
    std::uint64_t begin = 0, elements = 0;
  };
  const Entry& entry(const std::string& name) const;
  std::string path_;
  int fd_ = -1;
  std::uint64_t data_start_ = 0;
  std::vector<std::pair<std::string, Entry>> entries_;
};

/// Marks the checkpoint at path complete: writes metadata.json atomically. Call after every shard is durable.
void commit_checkpoint(const std::string& path, const nlohmann::json& meta);

/// Makes path an empty directory for a new checkpoint (removing an older incomplete or superseded one there,
/// metadata first so that it never looks complete while half-deleted).
void prepare_checkpoint_dir(const std::string& path);

/// Removes complete checkpoints under dir beyond the newest `keep`, and incomplete ones older than the newest
/// complete one (left by a save that was killed). keep <= 0 keeps everything.
void prune_checkpoints(const std::string& dir, int keep);

}  // namespace awsdt::train
