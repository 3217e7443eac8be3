// Checkpoint policy and metadata (see checkpointing.hpp).
#include "checkpointing.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fsdp_engine.hpp"
#include "util/error.hpp"

namespace awsdt::fsdp {

nlohmann::json model_shape_json(const nn::ModelConfig& c) {
  return {{"vocab_size", c.vocab_size}, {"dim", c.dim},         {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},       {"n_kv_heads", c.n_kv_heads}, {"ffn_dim", c.ffn_dim},
          {"tied_embeddings", c.tied_embeddings}};
}

Checkpointing::Checkpointing(const Options& options, const Plan& plan) : options_(options), plan_(plan) {
  resume_ = resolve_resume(options.resume, options.checkpoint_dir);
  if (!resume_) return;
  const nlohmann::json& meta = resume_->meta;
  const nlohmann::json want = model_shape_json(plan.model);
  const nlohmann::json& have = meta.at("model");
  for (const auto& [key, value] : want.items())
    if (!have.contains(key) || have.at(key) != value)
      throw UsageError(fmt::format("checkpoint '{}' was written for a model with {} = {}, this run has {} = {}",
                                   resume_->path, key, have.contains(key) ? have.at(key).dump() : "(missing)", key,
                                   value.dump()));
  const nlohmann::json& data = meta.at("data");
  if (data.at("seq_len").get<int>() != plan.seq_len)
    throw UsageError(fmt::format("checkpoint '{}' was trained with --seq-len {}, this run has {}", resume_->path,
                                 data.at("seq_len").get<int>(), plan.seq_len));
  if (data.at("global_batch").get<int>() != plan.global_batch)
    spdlog::warn("checkpoint {} was trained with global batch {}, this run uses {}: the data position carries over "
                 "in sequences", resume_->path, data.at("global_batch").get<int>(), plan.global_batch);
}

std::int64_t Checkpointing::first_sequence() const {
  return resume_ ? resume_->meta.at("data").at("sequences_consumed").get<std::int64_t>() : 0;
}

bool Checkpointing::due(std::int64_t completed_steps, bool preempted) const {
  if (options_.checkpoint_dir.empty()) return false;
  if (preempted || completed_steps == options_.steps) return true;
  return options_.checkpoint_every > 0 && completed_steps % options_.checkpoint_every == 0;
}

std::string Checkpointing::save(FsdpEngine& engine, std::int64_t completed_steps, int world, int rank,
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
       {{"steps", o.steps}, {"lr", p.schedule.lr}, {"min_lr", p.schedule.min_lr},
        {"warmup_steps", p.schedule.warmup_steps}, {"lr_schedule", nn::lr_decay_name(p.schedule.decay)},
        {"beta1", o.adamw.beta1}, {"beta2", o.adamw.beta2}, {"eps", o.adamw.eps},
        {"weight_decay", o.adamw.weight_decay}, {"grad_clip", o.grad_clip}}},
      {"data",
       {{"sequences_consumed", consumed}, {"global_batch", p.global_batch}, {"seq_len", p.seq_len},
        {"source", data_description}}},
      {"rng", {{"seed", o.seed}, {"note", "counter-based: data and init are functions of the seed and indices"}}}};
  const std::string path = checkpoint_path(o.checkpoint_dir, completed_steps);
  engine.save_checkpoint(path, std::move(meta));
  if (rank == 0) prune_checkpoints(o.checkpoint_dir, o.keep_checkpoints);
  return path;
}

}  // namespace awsdt::fsdp
