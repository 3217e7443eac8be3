// Checkpoint policy and metadata (see checkpoint_policy.hpp).
#include "train/checkpoint_policy.hpp"

#include <cstdio>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "comm/communicator.hpp"
#include "comm/host_values.hpp"
#include "train/fsdp_engine.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::train {
namespace {

namespace fs = std::filesystem;

// Collective: throws UsageError on every rank when any rank's `failure` is not empty, naming the first such
// rank. Only rank 0 prints a UsageError, so another rank prints its own reason first. `what` prefixes the
// reason (none when empty).
void agree_or_throw(Communicator& comm, const std::string& failure, const std::string& what) {
  const std::int32_t first = all_reduce_value(comm, failure.empty() ? comm.size() : comm.rank(), ReduceOp::min);
  if (first == comm.size()) return;
  const std::string reason = what.empty() ? failure : what + ": " + failure;
  const std::string& host = comm.hosts().at(static_cast<std::size_t>(first));
  if (comm.rank() == first && first != 0) {
    std::fprintf(stderr, "error: rank %d on %s: %s\n", first, host.c_str(), reason.c_str());
    std::fflush(stderr);
  }
  throw UsageError(first == 0 ? reason
                              : fmt::format("{}rank {} on {} failed (its line above)", what.empty() ? "" : what + ": ",
                                            first, host));
}

// Every rank writes into dir, and reads the token rank 0 wrote there: a node whose shared filesystem is not
// mounted (its shard would go to a local disk and be lost) or a read-only mount fails now, not at the first
// save, which may come only with a preemption.
void probe_directory(Communicator& comm, const std::string& dir) {
  const std::string what = fmt::format("--checkpoint-dir '{}'", dir);
  const std::string shared = (fs::path(dir) / ".awsdt-probe").string();
  std::string failure;
  std::int64_t token = 0;
  if (comm.rank() == 0) {
    try {
      token = static_cast<std::int64_t>(std::random_device{}() >> 1) + 1;
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) throw UsageError(fmt::format("cannot create it: {}", ec.message()));
      write_file_atomic(shared, std::to_string(token));
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  agree_or_throw(comm, failure, what);
  token = all_reduce_value(comm, token, ReduceOp::max);
  try {
    const std::string seen = read_file(shared);
    if (seen != std::to_string(token))
      failure = "its probe file holds another value than rank 0 wrote: another job is using the directory";
    const std::string mine = (fs::path(dir) / fmt::format(".awsdt-probe.rank-{}", comm.rank())).string();
    write_file_atomic(mine, "ok");
    fs::remove(mine);
  } catch (const std::exception& e) {
    failure = fmt::format("{} (every rank must see the same shared, writable directory)", e.what());
  }
  agree_or_throw(comm, failure, what);
  if (comm.rank() == 0) {
    std::error_code ec;
    fs::remove(shared, ec);
  }
}

// What a data description reads, without the rank's slice ("...; rank 0 of 2 reads sequences ...").
std::string data_read(const std::string& description) { return description.substr(0, description.rfind("; rank ")); }

}  // namespace

nlohmann::json model_shape_json(const nn::ModelConfig& c) {
  return {{"vocab_size", c.vocab_size},
          {"dim", c.dim},
          {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},
          {"n_kv_heads", c.n_kv_heads},
          {"ffn_dim", c.ffn_dim},
          {"tied_embeddings", c.tied_embeddings}};
}

CheckpointPolicy::CheckpointPolicy(const Options& options, const Plan& plan, Communicator& comm)
    : options_(options), plan_(plan) {
  std::string failure;
  try {
    resume_ = resolve_resume(options.resume, options.checkpoint_dir);
  } catch (const UsageError& e) {
    // Named by the flag whose path failed (--resume PATH, else the --checkpoint-dir that auto searches), unless
    // the message names one already.
    const std::string what = e.what();
    const bool resume_path = options.resume != "auto" && options.resume != "none" && !options.resume.empty();
    failure = what.starts_with("--") ? what : (resume_path ? "--resume: " : "--checkpoint-dir: ") + what;
  }
  agree_or_throw(comm, failure, "");
  // A directory listing can differ between nodes (caches of a network filesystem, a save committed meanwhile).
  const std::int64_t mine = resume_ ? resume_->step : -1;
  const std::int64_t lo = all_reduce_value(comm, mine, ReduceOp::min), hi = all_reduce_value(comm, mine, ReduceOp::max);
  if (lo != hi)
    throw UsageError(
        fmt::format("--resume {}: ranks chose different checkpoints (steps {} to {}, -1: none); the "
                    "checkpoint directory must be one shared filesystem that every node sees alike",
                    options.resume, lo, hi));
  if (!options.checkpoint_dir.empty()) {
    if (const auto latest = find_latest_checkpoint(options.checkpoint_dir)) {
      const std::int64_t newest = open_checkpoint(*latest).step;
      if (newest > mine)
        throw UsageError(fmt::format(
            "--checkpoint-dir '{}' holds a newer checkpoint ({}) than this run starts from ({}): it would keep it "
            "over this run's saves and a requeue would resume it; use --resume auto, another --checkpoint-dir, or "
            "remove it",
            options.checkpoint_dir, *latest, resume_ ? resume_->path : std::string("step 0")));
    }
    probe_directory(comm, options.checkpoint_dir);
  }
  if (!resume_) return;
  const nlohmann::json& meta = resume_->meta;
  const nlohmann::json want = model_shape_json(plan.model);
  const nlohmann::json& have = meta.at("model");
  for (const auto& [key, value] : want.items())
    if (!have.contains(key) || have.at(key) != value)
      throw UsageError(fmt::format("checkpoint '{}' was written for a model with {} = {}, this run has {} = {}",
                                   resume_->path, key, have.contains(key) ? have.at(key).dump() : "(missing)", key,
                                   value.dump()));
  const int tp = meta.value("tensor_parallel", 1);
  if (tp != plan.tp)
    throw UsageError(
        fmt::format("checkpoint '{}' was written with --tp {}, this run has --tp {}: its files hold "
                    "other slices of every tensor (resume with --tp {}; resharding across TP sizes is "
                    "not supported)",
                    resume_->path, tp, plan.tp, tp));
  const nlohmann::json& data = meta.at("data");
  if (data.at("seq_len").get<int>() != plan.seq_len)
    throw UsageError(fmt::format("checkpoint '{}' was trained with --seq-len {}, this run has {}", resume_->path,
                                 data.at("seq_len").get<int>(), plan.seq_len));
  if (data.at("global_batch").get<int>() != plan.global_batch)
    spdlog::warn(
        "checkpoint {} was trained with global batch {}, this run uses {}: the data position carries over "
        "in sequences",
        resume_->path, data.at("global_batch").get<int>(), plan.global_batch);
}

void CheckpointPolicy::check_data(const std::string& description) const {
  if (!resume_) return;
  const std::string trained = data_read(resume_->meta.at("data").value("source", std::string()));
  if (trained != data_read(description))
    throw UsageError(
        fmt::format("checkpoint '{}' was trained on {}, this run reads {}: it would not continue the "
                    "same data (pass the same --data, --synthetic and --seed)",
                    resume_->path, trained, data_read(description)));
}

std::int64_t CheckpointPolicy::first_sequence() const {
  return resume_ ? resume_->meta.at("data").at("sequences_consumed").get<std::int64_t>() : 0;
}

bool CheckpointPolicy::due(std::int64_t completed_steps, bool preempted) const {
  if (options_.checkpoint_dir.empty()) return false;
  if (preempted || completed_steps == options_.steps) return true;
  return options_.checkpoint_every > 0 && completed_steps % options_.checkpoint_every == 0;
}

std::string CheckpointPolicy::save(FsdpEngine& engine, std::int64_t completed_steps, int world, int rank,
                                   const std::string& data_description) const {
  const Plan& p = plan_;
  const Options& o = options_;
  const std::int64_t consumed = first_sequence() + (completed_steps - start_step()) * p.global_batch;
  nlohmann::json meta = {
      {"step", completed_steps},
      {"world_size", world},
      {"sharding", sharding_mode_name(p.sharding)},
      {"model", model_shape_json(p.model)},
      {"preset", o.model},
      {"training",
       {{"steps", o.steps},
        {"lr", p.schedule.lr},
        {"min_lr", p.schedule.min_lr},
        {"warmup_steps", p.schedule.warmup_steps},
        {"lr_schedule", nn::lr_decay_name(p.schedule.decay)},
        {"beta1", o.adamw.beta1},
        {"beta2", o.adamw.beta2},
        {"eps", o.adamw.eps},
        {"weight_decay", o.adamw.weight_decay},
        {"grad_clip", o.grad_clip}}},
      {"data",
       {{"sequences_consumed", consumed},
        {"global_batch", p.global_batch},
        {"seq_len", p.seq_len},
        {"source", data_description}}},
      {"rng", {{"seed", o.seed}, {"note", "counter-based: data and init are functions of the seed and indices"}}}};
  const std::string path = checkpoint_path(o.checkpoint_dir, completed_steps);
  engine.save_checkpoint(path, std::move(meta));
  if (rank == 0) prune_checkpoints(o.checkpoint_dir, o.keep_checkpoints);
  return path;
}

}  // namespace awsdt::train
