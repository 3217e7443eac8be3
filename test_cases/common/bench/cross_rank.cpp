// Cross-rank reduction (see cross_rank.hpp).
#include "bench/cross_rank.hpp"

#include <cstring>

namespace awsdt {

std::vector<double> all_gather_values(Bootstrap& bootstrap, std::span<const double> values) {
  std::vector<std::uint8_t> mine(values.size() * sizeof(double));
  std::memcpy(mine.data(), values.data(), mine.size());
  auto all = bootstrap.all_gather_bytes(mine);
  std::vector<double> out(all.size() / sizeof(double));
  std::memcpy(out.data(), all.data(), all.size());
  return out;
}

RankSpread reduce_across_ranks(Bootstrap& bootstrap, double value) {
  double mine[1] = {value};
  RankSpread s;
  s.values = all_gather_values(bootstrap, mine);
  s.min = s.max = s.values[0];
  double sum = 0;
  for (std::size_t r = 0; r < s.values.size(); ++r) {
    sum += s.values[r];
    if (s.values[r] > s.max) s.max = s.values[r], s.slowest_rank = int(r);
    if (s.values[r] < s.min) s.min = s.values[r], s.fastest_rank = int(r);
  }
  s.mean = sum / double(s.values.size());
  s.slowest_host = bootstrap.hosts().at(std::size_t(s.slowest_rank));
  s.fastest_host = bootstrap.hosts().at(std::size_t(s.fastest_rank));
  return s;
}

double reported_time(const RankSpread& s, int average) {
  switch (average) {
    case 0: return s.values.at(0);
    case 2: return s.min;
    case 3: return s.max;
    default: return s.mean;
  }
}

}  // namespace awsdt
