// The explicit list of collectives (see collective.hpp).
#include <array>

#include <fmt/format.h>

#include "collectives_list.hpp"
#include "util/error.hpp"

namespace awsdt::collectives {

std::span<const Collective> all_collectives() {
  static const std::array<Collective, 7> list{kAllReduce, kAllGather, kReduceScatter, kAllToAll,
                                              kBroadcast, kReduce,    kSendRecv};
  return list;
}

const Collective& find_collective(std::string_view name) {
  for (const auto& c : all_collectives())
    if (c.name == name) return c;
  throw UsageError(fmt::format(
      "unknown collective '{}'; expected all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, reduce, "
      "send_recv or all",
      name));
}

}  // namespace awsdt::collectives
