// The trainer's checkpoint policy: which checkpoint a run resumes from (and whether it fits this run), when a
// step ends in a save (every N steps, after the last step, and when a preemption signal arrived), and the
// metadata that makes a checkpoint resumable: step, model shape, training settings, world size and the data
// position. The data needs no other RNG state: synthetic batches are a pure function of (seed, sequence index)
// and a token file is read at a position computed from the sequence index.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "train/checkpoint_format.hpp"
#include "train/options.hpp"

namespace awsdt {
class Communicator;
}

namespace awsdt::train {

class FsdpEngine;

/// The model fields a checkpoint must agree on with the run that resumes it.
nlohmann::json model_shape_json(const nn::ModelConfig& config);

/// The checkpoint policy of one run, built from its flags.
class CheckpointPolicy {
 public:
  /// Collective. Resolves --resume on every rank and checks that all ranks chose the same checkpoint and that
  /// it fits plan's model and sequence length; refuses a --checkpoint-dir holding a newer checkpoint than the
  /// one resumed (this run's saves would be pruned for it, and a requeue would continue it); proves the
  /// directory writable by every rank and the same directory on every node. Throws UsageError naming the
  /// checkpoint, the field, or the rank and host that failed.
  CheckpointPolicy(const Options& options, const Plan& plan, Communicator& comm);

  /// Throws UsageError when the resumed checkpoint was trained on other data than `description` (a data
  /// source's describe(): the token file, or the synthetic kind and seed).
  void check_data(const std::string& description) const;

  /// The checkpoint this run continues from, if any.
  const std::optional<CheckpointInfo>& resume() const { return resume_; }
  /// Steps already done (0 without a checkpoint).
  std::int64_t start_step() const { return resume_ ? resume_->step : 0; }
  /// Sequences of the global data stream already trained on.
  std::int64_t first_sequence() const;
  /// Whether the step that brought the count to completed_steps ends in a save.
  bool due(std::int64_t completed_steps, bool preempted) const;
  /// Collective: saves the engine's state after completed_steps, then prunes old checkpoints (rank 0).
  /// Returns the checkpoint's directory.
  std::string save(FsdpEngine& engine, std::int64_t completed_steps, int world, int rank,
                   const std::string& data_description) const;

 private:
  const Options& options_;
  const Plan& plan_;
  std::optional<CheckpointInfo> resume_;
};

}  // namespace awsdt::train
