// What a collective contributes to the harness, and nothing more (as nccl-tests' per-collective files):
// byte counts, input data, the expected output, the bus-bandwidth factor and the launch.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "comm/communicator.hpp"
#include "kernels/pattern.hpp"

namespace awsdt::collectives {

/// Element counts for one size, as nccl-tests' getCollByteCount computes them.
struct Counts {
  std::size_t send = 0;   ///< elements in the send buffer
  std::size_t recv = 0;   ///< elements in the receive buffer
  std::size_t param = 0;  ///< the count passed to the operation (printed in the count column)
};

/// In place, send and receive share one buffer B: send = B + send, recv = B + recv (in elements).
struct InPlace {
  std::size_t send = 0, recv = 0;
};

/// One test case's parameters as seen by a collective.
struct Params {
  int rank = 0;
  int nranks = 1;
  int root = 0;
  DataType type = DataType::f32;
  ReduceOp op = ReduceOp::sum;
  Counts counts;
};

struct Collective {
  std::string_view name;  ///< all_reduce, all_gather, ...
  bool reduces;           ///< takes a reduction op (-o)
  bool rooted;            ///< takes a root (-r)
  /// Whether the in-place variant has a defined result on a communicator that can do `caps`.
  bool (*in_place_defined)(const CommCapabilities& caps);
  /// nccl-tests' count rounding for a total of `count` elements over `nranks`.
  Counts (*counts)(std::size_t count, int nranks);
  /// algbw = param * element size * this / time (all_gather counts every rank's block, as nccl-tests does).
  double (*algbw_bytes_factor)(int nranks);
  /// busbw = algbw * this: the nccl-tests factor that makes bus bandwidth comparable across collectives.
  double (*busbw_factor)(int nranks);
  /// Where send and receive sit in the shared buffer when run in place.
  InPlace (*in_place)(const Params& p);
  /// What the receive buffer must hold after the operation on rank p.rank, and how many elements to check
  /// (0 when this rank receives nothing, e.g. a non-root rank of reduce).
  kernels::Expectation (*expectation)(const Params& p, const kernels::Pattern& pattern, std::size_t* check_count);
  void (*launch)(Communicator& comm, const void* send, void* recv, const Params& p, Stream& stream);
};

/// counts for collectives whose send and receive buffers both hold the whole count.
inline Counts whole_counts(std::size_t count, int) { return {count, count, count}; }
/// algbw_bytes_factor or busbw_factor of 1.
inline double factor_one(int) { return 1.0; }
/// in_place for collectives that send and receive at the start of the one buffer.
inline InPlace in_place_at_start(const Params&) { return {0, 0}; }

/// in_place_defined for collectives whose in-place variant is defined everywhere, or nowhere.
inline bool in_place_always(const CommCapabilities&) { return true; }
inline bool in_place_never(const CommCapabilities&) { return false; }

/// Every collective, in the order `all` runs them.
std::span<const Collective> all_collectives();
/// The collective called `name`; throws UsageError listing them.
const Collective& find_collective(std::string_view name);

}  // namespace awsdt::collectives
