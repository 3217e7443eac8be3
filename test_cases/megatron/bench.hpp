// The harness of awsdt-megatron gemm: times a TP GEMM's pieces and methods the same way for every pattern
// (warm-up, a barrier of every rank, timed iterations on the streams, nccl-tests' -a over ranks), checks every
// method's result, and produces one row per method.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"
#include "kernels/gemm.hpp"
#include "options.hpp"
#include "parallel/tp_gemm.hpp"

namespace awsdt::megatron {

/// One measured method of one pattern and shape.
struct Row {
  std::string pattern, method;
  parallel::GemmDims dims;
  int chunks = 1;
  double gemm_us = 0;    ///< T_gemm: the unchunked GEMM work alone
  double split_us = 0;   ///< this method's GEMMs alone (chunked or per ring step)
  double comm_us = 0;    ///< T_comm: the collective alone, unchunked
  double serial_us = 0;  ///< T_serial
  double time_us = 0;    ///< T_overlap: this method
  double flops = 0;      ///< GEMM FLOPs per rank
  double comm_bytes = 0, busbw_factor = 0;
  std::int64_t wrong = -1;  ///< elements that differ, over all ranks (-1: not checked)
  double exposed_us() const { return time_us - gemm_us; }
  /// 1 − exposed / T_comm, clamped to [0, 1].
  double efficiency() const;
  double speedup() const { return time_us > 0 ? serial_us / time_us : 0; }
  double gemm_tflops() const { return split_us > 0 ? flops / split_us / 1e6 : 0; }
  double busbw() const { return comm_us > 0 ? comm_bytes / comm_us / 1e3 * busbw_factor : 0; }
};

/// Everything a measurement runs on.
struct Bench {
  Communicator& tp;      ///< the tensor-parallel group
  Bootstrap& bootstrap;  ///< every rank (barriers, the reduction of times)
  Stream compute, comm;  ///< on the group's device
  std::unique_ptr<kernels::GemmEngine> gemm;
  DataType dtype;
  const GemmOptions& options;

  parallel::TpResources resources() { return {tp, compute, comm, *gemm, dtype}; }
  /// Microseconds per launch, reduced over ranks as -a says.
  double time_us(const std::function<void()>& launch);
  /// Elements of `got` outside the tolerance of `want` (dtype's rounding; `roundings` of them), summed over
  /// every rank.
  std::int64_t count_wrong(const std::vector<float>& got, const std::vector<double>& want, int roundings);
  /// count_wrong at up to 512 sampled elements of `got` (row-major, `cols` wide) against reference(i, j).
  std::int64_t wrong_at_samples(const std::vector<float>& got, int cols,
                                const std::function<double(std::int64_t, std::int64_t)>& reference, int roundings);
};

/// One row per method of the options, in their order: serial's from `base` (its T_gemm and T_serial) and
/// `serial_wrong`; every other's chunks set, then `measure(method, row)` fills its split GEMMs' time, its time and
/// its #wrong.
std::vector<Row> rows_per_method(Bench& bench, const Row& base, std::int64_t serial_wrong,
                                 const std::function<void(parallel::TpMethod, Row&)>& measure);

/// Measures `pattern` at `dims` by every method of the options; rows in the options' method order.
std::vector<Row> measure_pattern(Bench& bench, parallel::TpPattern pattern, parallel::GemmDims dims);

}  // namespace awsdt::megatron
