// FsdpEngine's checkpoint I/O: every rank writes and reads its own shards of parameters and AdamW state in the
// on-disk format of checkpoint_format.hpp, and the consolidated Hugging Face export.
#include "train/fsdp_engine.hpp"

#include <csignal>

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "train/checkpoint_format.hpp"
#include "comm/host_values.hpp"
#include "train/fsdp_engine_parts.hpp"
#include "nn/safetensors.hpp"
#include "util/error.hpp"

namespace awsdt::train {
namespace {

// Collective agreement on a per-rank outcome: true on every rank only if ok on every rank.
bool all_ok(Communicator& comm, bool ok) {
  return all_reduce_value(comm, std::int32_t{ok ? 1 : 0}, ReduceOp::min) == 1;
}

std::string tensor_name(std::size_t u, const char* what) { return fmt::format("unit.{}.{}", u, what); }

}  // namespace

std::int64_t FsdpEngine::optimizer_steps() const { return adam_steps_; }

std::string FsdpEngine::shard_file(int shard, int shards) const {
  return shard_file_name(shard, shards, mp_rank_, mp_size_);
}

void FsdpEngine::save_checkpoint(const std::string& path, nlohmann::json meta) {
  stream_.synchronize();
  const bool leader = world_.rank() == 0;
  std::string error;
  try {
    if (leader) prepare_checkpoint_dir(path);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!all_ok(world_, error.empty()))
    throw UsageError(error.empty() ? "checkpoint: rank 0 could not prepare " + path : error);

  // One replica writes each shard; the shard file sizes travel to rank 0 for the metadata (a sum over ranks with
  // one non-zero writer per slot).
  const bool writer = !replicate_ || replicate_->rank() == 0;
  // Files in model-parallel rank order, each rank's data-parallel shards in order.
  std::vector<std::int64_t> bytes(static_cast<std::size_t>(shard_size_ * mp_size_), 0);
  const std::size_t file_index = static_cast<std::size_t>(mp_rank_ * shard_size_ + shard_rank_);
  if (writer) {
    try {
      // Host copies of the shards (on CPUs a copy too: a save is rare and this keeps one path).
      std::vector<std::vector<float>> host;
      std::vector<ShardTensor> tensors;
      host.reserve(3 * units_.size());
      for (std::size_t u = 0; u < units_.size(); ++u) {
        const Unit& x = units_[u];
        for (const auto& [what, buffer] :
             {std::pair{"param", &x.params}, std::pair{"exp_avg", &x.m}, std::pair{"exp_avg_sq", &x.v}}) {
          host.push_back(download(*buffer, x.layout.shard));
          tensors.push_back({tensor_name(u, what), host.back()});
        }
      }
      const std::string file = path + "/" + shard_file(shard_rank_, shard_size_);
      bytes[file_index] = static_cast<std::int64_t>(write_shard_file(file, tensors));
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (kill_in_save_) std::raise(SIGKILL);  // test hook: die between the shards and the metadata
  }
  if (!all_ok(world_, error.empty()))
    throw UsageError(error.empty() ? "checkpoint: another rank could not write its shard of " + path : error);
  all_reduce_host(world_, bytes.data(), bytes.size(), DataType::i64, ReduceOp::sum);

  if (leader) {
    try {
      meta["format"] = kCheckpointFormat;
      meta["version"] = kCheckpointVersion;
      meta["shards"] = shard_size_;
      meta["tensor_parallel"] = mp_size_;
      meta["optimizer_steps"] = optimizer_steps();
      nlohmann::json files = nlohmann::json::array(), units = nlohmann::json::array();
      for (int r = 0; r < mp_size_; ++r)
        for (int i = 0; i < shard_size_; ++i)
          files.push_back({{"name", shard_file_name(i, shard_size_, r, mp_size_)},
                           {"bytes", bytes[static_cast<std::size_t>(r * shard_size_ + i)]}});
      for (const Unit& x : units_) units.push_back({{"size", x.layout.size}, {"padded", x.layout.padded}});
      meta["files"] = files;
      meta["units"] = units;
      commit_checkpoint(path, meta);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  // Nobody returns (and perhaps exits) before the checkpoint is complete.
  if (!all_ok(world_, error.empty()))
    throw UsageError(error.empty() ? "checkpoint: rank 0 could not commit " + path : error);
}

void FsdpEngine::load_checkpoint(const CheckpointInfo& checkpoint) {
  const auto bad = [&](const std::string& what) {
    throw UsageError(fmt::format("checkpoint '{}': {}", checkpoint.path, what));
  };
  const int old_tp = checkpoint.meta.value("tensor_parallel", 1);
  if (old_tp != mp_size_)
    bad(
        fmt::format("was written with tensor parallelism {}, this run has {} (resharding across tensor-parallel "
                    "sizes is not supported: resume with --tp {})",
                    old_tp, mp_size_, old_tp));
  const nlohmann::json& units = checkpoint.meta.at("units");
  if (units.size() != units_.size())
    bad(fmt::format("holds {} units, this model has {} (another model shape)", units.size(), units_.size()));
  const int old_shards = checkpoint.shards;
  std::vector<std::unique_ptr<ShardFile>> files(static_cast<std::size_t>(old_shards));
  auto file = [&](int j) -> ShardFile& {
    auto& f = files[static_cast<std::size_t>(j)];
    if (!f) f = std::make_unique<ShardFile>(checkpoint.path + "/" + shard_file(j, old_shards));
    return *f;
  };
  std::vector<float> p, m, v;
  for (std::size_t u = 0; u < units_.size(); ++u) {
    Unit& x = units_[u];
    const auto size = units[u].at("size").get<std::size_t>(), padded = units[u].at("padded").get<std::size_t>();
    if (size != x.layout.size)
      bad(fmt::format("unit {} has {} parameters, this model's has {} (another model shape)", u, size, x.layout.size));
    if (padded % static_cast<std::size_t>(old_shards) != 0 || padded < size)
      bad(fmt::format("unit {} is padded to {}, not a multiple of its {} shards", u, padded, old_shards));
    const std::size_t old_shard = padded / static_cast<std::size_t>(old_shards);
    p.assign(x.layout.shard, 0.0f);
    m.assign(x.layout.shard, 0.0f);
    v.assign(x.layout.shard, 0.0f);
    // This rank's real elements [lo, hi) come from old shards j covering them; padding stays zero.
    const std::size_t lo = std::min(x.layout.begin, size), hi = std::min(x.layout.begin + x.layout.shard, size);
    for (std::size_t e = lo; e < hi;) {
      const int j = static_cast<int>(e / old_shard);
      const std::size_t end = std::min(hi, (static_cast<std::size_t>(j) + 1) * old_shard);
      const std::size_t off = e - static_cast<std::size_t>(j) * old_shard, n = end - e, dst = e - x.layout.begin;
      file(j).read(tensor_name(u, "param"), off, std::span<float>(p).subspan(dst, n));
      file(j).read(tensor_name(u, "exp_avg"), off, std::span<float>(m).subspan(dst, n));
      file(j).read(tensor_name(u, "exp_avg_sq"), off, std::span<float>(v).subspan(dst, n));
      e = end;
    }
    upload(x.params, p);
    upload(x.m, m);
    upload(x.v, v);
  }
  adam_steps_ = checkpoint.meta.at("optimizer_steps").get<std::int64_t>();
}

void FsdpEngine::export_safetensors(const std::string& path) {
  const std::vector<float> full = full_params();
  std::string error;
  if (world_.rank() == 0) {
    try {
      nn::Model model(backend_->config());  // layouts only; the gathered params fill it
      std::size_t at = 0;
      for (nn::ParamUnit& unit : model.units()) {
        const std::size_t n = unit.layout.size;
        unit.params.assign(full.begin() + static_cast<std::ptrdiff_t>(at),
                           full.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
      }
      nn::save_safetensors(model, path, {{"producer", options_.producer}});
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (!all_ok(world_, error.empty()))
    throw UsageError(error.empty() ? "export: rank 0 could not write " + path : error);
}

}  // namespace awsdt::train
