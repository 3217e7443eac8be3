// FSDP sharding vocabulary: the four modes (ZeRO-3, ZeRO-2, DDP, HSDP) and how one unit's flat buffer is
// padded to a multiple of the shard group size and split into equal per-rank shards.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "comm/communicator.hpp"

namespace awsdt::train {

/// How parameters, gradients and optimizer state are distributed.
enum class ShardingMode {
  full,     ///< ZeRO-3: everything sharded over all ranks, params resharded after each unit's forward
  grad_op,  ///< ZeRO-2 style: sharded at rest, gathered params kept from forward until the unit's backward ends
  none,     ///< DDP: everything replicated, gradients all-reduced (averaged)
  hybrid,   ///< HSDP: full sharding inside groups of --shard-group-size, gradients all-reduced across groups
};

/// Parses "full", "grad_op", "none" or "hybrid"; throws awsdt::UsageError otherwise.
ShardingMode parse_sharding_mode(std::string_view name);
/// The flag spelling of mode.
const char* sharding_mode_name(ShardingMode mode);

/// Where one rank's shard of one unit lies.
struct UnitShardLayout {
  std::size_t size = 0;    ///< real elements of the unit
  std::size_t padded = 0;  ///< size rounded up to a multiple of the shard group size
  std::size_t shard = 0;   ///< padded / group size: elements each rank owns
  std::size_t begin = 0;   ///< this rank's first element in the (padded) unit buffer
};

/// The shard of a unit of `size` elements for rank `shard_rank` of a group of `group_size`.
UnitShardLayout shard_unit(std::size_t size, int group_size, int shard_rank);

/// The shard and replica communicators of a rank (nullptr: a group of one).
struct ShardGroups {
  std::unique_ptr<Communicator> owned_shard, owned_replicate;
  Communicator* shard = nullptr;
  Communicator* replicate = nullptr;
};
/// Collective: the groups of `world` for units sharded over `shard_group` ranks (world: full sharding, 1: none,
/// else HSDP's consecutive groups, replicated across groups).
ShardGroups make_shard_groups(Communicator& world, int shard_group);

}  // namespace awsdt::train
