// Sharding mode names and the padded split of a unit.
#include "train/sharding.hpp"

#include <string>

#include "comm/communicator.hpp"
#include "util/error.hpp"

namespace awsdt::train {

ShardingMode parse_sharding_mode(std::string_view name) {
  if (name == "full") return ShardingMode::full;
  if (name == "grad_op") return ShardingMode::grad_op;
  if (name == "none") return ShardingMode::none;
  if (name == "hybrid") return ShardingMode::hybrid;
  throw UsageError("--sharding must be full, grad_op, none or hybrid (got '" + std::string(name) + "')");
}

const char* sharding_mode_name(ShardingMode mode) {
  switch (mode) {
    case ShardingMode::full: return "full";
    case ShardingMode::grad_op: return "grad_op";
    case ShardingMode::none: return "none";
    case ShardingMode::hybrid: return "hybrid";
  }
  return "?";
}

UnitShardLayout shard_unit(std::size_t size, int group_size, int shard_rank) {
  AWSDT_CHECK(group_size >= 1 && shard_rank >= 0 && shard_rank < group_size, "shard_unit: bad group");
  UnitShardLayout s;
  const auto g = static_cast<std::size_t>(group_size);
  s.size = size;
  s.padded = (size + g - 1) / g * g;
  s.shard = s.padded / g;
  s.begin = s.shard * static_cast<std::size_t>(shard_rank);
  return s;
}

ShardGroups make_shard_groups(Communicator& world, int shard_group) {
  ShardGroups g;
  const int n = world.size(), r = world.rank(), s = shard_group;
  if (s == n) {
    g.shard = n > 1 ? &world : nullptr;
  } else if (s == 1) {
    g.replicate = n > 1 ? &world : nullptr;
  } else {
    g.owned_shard = world.split(r / s, r);
    g.owned_replicate = world.split(r % s, r);
    g.shard = g.owned_shard.get();
    g.replicate = g.owned_replicate.get();
  }
  return g;
}

}  // namespace awsdt::train
