// The harness of awsdt-megatron gemm (see bench.hpp).
#include "bench.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "bench/cross_rank.hpp"
#include "bench/loop.hpp"
#include "patterns.hpp"

namespace awsdt::megatron {
namespace {

using parallel::TpGemm;
using parallel::TpMethod;

// The relative error one rounding to `dtype` may add (0 for float: the operands make fp32 sums exact).
double rounding_eps(DataType dtype) {
  return dtype == DataType::bf16 ? std::ldexp(1.0, -8) : dtype == DataType::f16 ? std::ldexp(1.0, -11) : 0.0;
}

std::size_t elements(const parallel::LocalShapes& s) { return std::size_t(s.c_rows) * s.c_cols; }

// The test hook: overwrites the output rows of the first chunk with a value no result can hold.
void corrupt_first_chunk(Bench& bench, Buffer& c, const parallel::LocalShapes& s) {
  const int rows = std::max(1, s.c_rows / std::max(1, bench.options.chunks));
  memset_async(c.data(), 0x7f, std::size_t(rows) * s.c_cols * dtype_size(bench.dtype), bench.compute);
}

}  // namespace

double Row::efficiency() const {
  if (comm_us <= 0) return 0;
  return std::clamp(1.0 - exposed_us() / comm_us, 0.0, 1.0);
}

double Bench::time_us(const std::function<void()>& launch) {
  std::array<Stream, 2> streams{compute, comm};
  LoopConfig loop;
  loop.warmup = options.timing.warmup;
  loop.iters = options.timing.iters;
  loop.blocking = options.timing.blocking;
  loop.timeout_s = options.timing.timeout_s;
  loop.before_timing = [this] { bootstrap.all_gather_bytes({}); };  // a barrier of every rank
  const std::vector<double> samples = time_loop(streams, loop, [&](int) { launch(); });
  double mine = 0;
  for (double s : samples) mine += s;
  return reported_time(reduce_across_ranks(bootstrap, mine / double(samples.size())), options.timing.average);
}

std::int64_t Bench::count_wrong(const std::vector<float>& got, const std::vector<double>& want, int roundings) {
  double rms = 0;
  for (double w : want) rms += w * w;
  rms = want.empty() ? 0 : std::sqrt(rms / double(want.size()));
  const double eps = roundings * rounding_eps(dtype);
  double wrong = 0;
  for (std::size_t e = 0; e < got.size(); ++e)
    if (!(std::fabs(double(got[e]) - want[e]) <= eps * (std::fabs(want[e]) + rms))) wrong += 1;  // NaN is wrong
  double total = 0;
  for (double w : all_gather_values(bootstrap, std::span<const double>(&wrong, 1))) total += w;
  return std::int64_t(total);
}

std::int64_t Bench::wrong_at_samples(const std::vector<float>& got, int cols,
                                     const std::function<double(std::int64_t, std::int64_t)>& reference,
                                     int roundings) {
  const std::size_t n = got.size(), samples = std::min<std::size_t>(n, 512);
  std::vector<float> picked;
  std::vector<double> want;
  for (std::size_t s = 0; s < samples; ++s) {
    const std::size_t e = samples == n ? s : (s * 2654435761ull) % n;
    picked.push_back(got[e]);
    want.push_back(reference(std::int64_t(e / cols), std::int64_t(e % cols)));
  }
  return count_wrong(picked, want, roundings);
}

std::vector<Row> rows_per_method(Bench& bench, const Row& base, std::int64_t serial_wrong,
                                 const std::function<void(TpMethod, Row&)>& measure) {
  std::vector<Row> rows;
  for (const std::string& name : bench.options.methods) {
    Row row = base;
    row.method = name;
    const TpMethod method = parallel::parse_method(name);
    if (method == TpMethod::serial) {
      row.split_us = row.gemm_us;
      row.time_us = row.serial_us;
      row.wrong = serial_wrong;
    } else {
      row.chunks = method == TpMethod::pipelined ? bench.options.chunks : bench.tp.size();
      measure(method, row);
    }
    rows.push_back(row);
  }
  return rows;
}

std::vector<Row> measure_pattern(Bench& bench, parallel::TpPattern pattern, parallel::GemmDims dims) {
  const int tp = bench.tp.size(), rank = bench.tp.rank();
  const Device& device = bench.compute.device();
  TpGemm serial(bench.resources(), pattern, TpMethod::serial, dims, 1);
  const parallel::LocalShapes& s = serial.shapes();
  const PatternMath math = pattern_math(pattern, dims, tp, rank, 1, 2);
  const Buffer a = make_operand(device, bench.dtype, math.a), b = make_operand(device, bench.dtype, math.b);
  const std::size_t c_bytes = elements(s) * dtype_size(bench.dtype);
  Buffer c_serial = Buffer::on(device, c_bytes), c = Buffer::on(device, c_bytes);

  Row base;
  base.pattern = std::string(parallel::pattern_name(pattern));
  base.dims = dims;
  base.flops = serial.flops_per_rank();
  base.comm_bytes = serial.comm_bytes();
  base.busbw_factor = serial.busbw_factor();
  base.gemm_us = bench.time_us([&] { serial.run_gemm_only(a.data(), b.data(), c.data()); });
  base.comm_us = bench.time_us([&] { serial.run_comm_only(a.data(), c.data()); });
  base.serial_us = bench.time_us([&] { serial.run(a.data(), b.data(), c_serial.data()); });
  std::vector<float> reference;
  std::int64_t serial_wrong = -1;
  if (bench.options.check) {  // the last timed run's output: its inputs never change
    reference = download(c_serial, bench.dtype, elements(s), bench.compute);
    serial_wrong = bench.wrong_at_samples(reference, s.c_cols, math.reference, 1);
  }

  return rows_per_method(bench, base, serial_wrong, [&](TpMethod method, Row& row) {
    TpGemm op(bench.resources(), pattern, method, dims, method == TpMethod::pipelined ? bench.options.chunks : 1);
    row.split_us = bench.time_us([&] { op.run_gemm_only(a.data(), b.data(), c.data()); });
    row.time_us = bench.time_us([&] { op.run(a.data(), b.data(), c.data()); });
    if (!bench.options.check) return;
    if (bench.options.corrupt_for_test) corrupt_first_chunk(bench, c, s);
    const std::vector<float> got = download(c, bench.dtype, elements(s), bench.compute);
    const std::vector<double> want(reference.begin(), reference.end());
    // Ring sums travel rounded to the element type: one rounding per step.
    row.wrong = bench.count_wrong(got, want, method == TpMethod::ring ? tp + 1 : 2);
  });
}

}  // namespace awsdt::megatron
