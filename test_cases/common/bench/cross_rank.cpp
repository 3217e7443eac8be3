// Cross-rank reduction (see cross_rank.hpp).
#include "bench/cross_rank.hpp"

#include "comm/host_exchange.hpp"

namespace awsdt {

RankSpread reduce_across_ranks(Communicator& comm, double value) {
  double mine[1] = {value};
  auto all = all_gather_values(comm, mine);
  RankSpread s;
  s.min = s.max = all[0];
  double sum = 0;
  for (std::size_t r = 0; r < all.size(); ++r) {
    sum += all[r];
    if (all[r] > s.max) s.max = all[r], s.slowest_rank = int(r);
    if (all[r] < s.min) s.min = all[r], s.fastest_rank = int(r);
  }
  s.mean = sum / double(all.size());
  s.slowest_host = comm.hosts().at(std::size_t(s.slowest_rank));
  return s;
}

}  // namespace awsdt
