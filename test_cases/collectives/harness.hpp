// The shared harness of awsdt-collectives: sizes x dtypes x ops, out of place then in place, warm-up and timed
// loops, times reduced across ranks as nccl-tests does (-a), and the correctness check after timing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/cross_rank.hpp"
#include "bench/summary.hpp"
#include "collective.hpp"
#include "comm/registry.hpp"
#include "options.hpp"

namespace awsdt::collectives {

/// One half (out-of-place or in-place) of a table row.
struct Measurement {
  double time_us = 0;                    ///< per-iteration time after the -a reduction across ranks
  double algbw = 0;                      ///< GB/s (1e9 B/s)
  double busbw = 0;                      ///< GB/s
  std::int64_t wrong = -1;               ///< mismatched elements summed over ranks; -1 when not checked
  RankSpread spread;                     ///< per-rank loop times
  std::optional<Summary> per_iteration;  ///< -I: stats of the per-iteration max over ranks
  std::vector<double> iteration_times_us;
};

struct Row {
  const Collective* collective = nullptr;
  std::size_t bytes = 0;
  std::size_t count = 0;
  DataType type = DataType::f32;
  std::string redop;  ///< op name, or "none"
  int root = -1;
  Measurement out_of_place;
  std::optional<Measurement> in_place;  ///< nullopt where in place is not run (undefined on MPI)
};

/// Receives rows as they are measured (the report prints them live).
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void begin_collective(const Collective& c) = 0;
  virtual void row(const Row& row) = 0;
};

/// Runs every requested case on `world`, passing each row to `sink`. Returns all rows.
std::vector<Row> run_cases(const Options& options, CommWorld& world, RowSink& sink);

/// The sizes -b/-e/-f/-i describe, in order.
std::vector<std::uint64_t> sizes(const Options& options);

}  // namespace awsdt::collectives
