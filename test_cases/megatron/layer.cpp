// The layer pattern (see layer.hpp).
#include "layer.hpp"

#include <memory>

#include "patterns.hpp"

namespace awsdt::megatron {
namespace {

using parallel::TpGemm;
using parallel::TpMethod;

// One TP GEMM of the layer with its operands and output.
struct LayerOp {
  LayerGemm gemm;
  PatternMath math;
  Buffer a, b, c;
  std::unique_ptr<TpGemm> op;
};

// A weight gradient dW_r = Xᵀ·dY over the M rows of the sequence: X from op `x` (its local A, or its gathered A),
// dY likewise from op `dy`.
struct WeightGrad {
  int x, dy;
  bool x_gathered, dy_gathered;
};
// fc2 and proj: the row-parallel input and the gathered output gradient; fc1 and qkv: the gathered input and
// the column-parallel output gradient. Op indices follow layer_gemms().
constexpr WeightGrad kWeightGrads[] = {
    {3, 4, false, true}, {2, 5, true, false}, {1, 6, false, true}, {0, 7, true, false}};

class Layer {
 public:
  Layer(Bench& bench, const LayerShape& shape, TpMethod method) : bench_(bench) {
    const int tp = bench.tp.size(), rank = bench.tp.rank();
    const Device& device = bench.compute.device();
    std::uint32_t id = 10;
    for (const LayerGemm& g : layer_gemms(shape, tp)) {
      LayerOp& o = ops_.emplace_back();
      o.gemm = g;
      o.math = pattern_math(g.pattern, g.dims, tp, rank, id, id + 1);
      id += 2;
      o.op = std::make_unique<TpGemm>(bench.resources(), g.pattern, method, g.dims,
                                      method == TpMethod::pipelined ? bench.options.chunks : 1);
      o.a = make_operand(device, bench.dtype, o.math.a);
      o.b = make_operand(device, bench.dtype, o.math.b);
      o.c = Buffer::on(device, std::size_t(o.op->shapes().c_rows) * o.op->shapes().c_cols * dtype_size(bench.dtype));
    }
    for (const WeightGrad& w : kWeightGrads)
      grads_.push_back(Buffer::on(device, grad_elements(w) * dtype_size(bench.dtype)));
  }

  void run() {
    for (LayerOp& o : ops_) o.op->run(o.a.data(), o.b.data(), o.c.data());
    run_weight_grads();
  }
  void run_gemms_only() {
    for (LayerOp& o : ops_) o.op->run_gemm_only(o.a.data(), o.b.data(), o.c.data());
    run_weight_grads();
  }
  void run_comms_only() {
    for (LayerOp& o : ops_) o.op->run_comm_only(o.a.data(), o.c.data());
  }
  double flops() const {
    double f = 0;
    for (const LayerOp& o : ops_) f += o.op->flops_per_rank();
    for (const WeightGrad& w : kWeightGrads) f += 2.0 * double(grad_elements(w)) * ops_[w.x].gemm.dims.m;
    return f;
  }
  double comm_bytes() const {
    double bytes = 0;
    for (const LayerOp& o : ops_) bytes += o.op->comm_bytes();
    return bytes;
  }
  double busbw_factor() const { return ops_.front().op->busbw_factor(); }  // (n − 1)/n for every op

  /// Elements outside tolerance in every output, at sampled positions against float64, over all ranks.
  std::int64_t wrong(int roundings) {
    std::int64_t wrong = 0;
    for (LayerOp& o : ops_) {
      const parallel::LocalShapes& s = o.op->shapes();
      const auto got = download(o.c, bench_.dtype, std::size_t(s.c_rows) * s.c_cols, bench_.compute);
      wrong += bench_.wrong_at_samples(got, s.c_cols, o.math.reference, roundings);
    }
    for (std::size_t i = 0; i < std::size(kWeightGrads); ++i) {
      const WeightGrad& w = kWeightGrads[i];
      const Block x = column_source(w.x, w.x_gathered), dy = column_source(w.dy, w.dy_gathered);
      const int cols = columns(w.dy, w.dy_gathered), M = ops_[w.x].gemm.dims.m;
      const auto got = download(grads_[i], bench_.dtype, grad_elements(w), bench_.compute);
      wrong += bench_.wrong_at_samples(
          got, cols,
          [=](std::int64_t r, std::int64_t c) { return reference_dot(x, x.col0 + r, dy, dy.col0 + c, M, true); },
          roundings);
    }
    return wrong;
  }

 private:
  // The global tensor whose columns an operand holds, from its first row: an ag_gemm's gathered A is all of A.
  Block column_source(int op, bool gathered) const {
    Block b = ops_[op].math.a;
    b.row0 = 0;
    if (gathered) b.col0 = 0;
    return b;
  }
  const void* operand(int op, bool gathered) const { return gathered ? ops_[op].op->gathered() : ops_[op].a.data(); }
  int columns(int op, bool gathered) const { return gathered ? ops_[op].gemm.dims.k : ops_[op].op->shapes().a_cols; }
  std::size_t grad_elements(const WeightGrad& w) const {
    return std::size_t(columns(w.x, w.x_gathered)) * columns(w.dy, w.dy_gathered);
  }
  void run_weight_grads() {
    for (std::size_t i = 0; i < std::size(kWeightGrads); ++i) {
      const WeightGrad& w = kWeightGrads[i];
      const kernels::GemmShape shape{columns(w.x, w.x_gathered), columns(w.dy, w.dy_gathered), ops_[w.x].gemm.dims.m,
                                     true, false};
      bench_.gemm->run(shape, bench_.dtype, operand(w.x, w.x_gathered), operand(w.dy, w.dy_gathered), grads_[i].data(),
                       0.0f, bench_.compute);
    }
  }

  Bench& bench_;
  std::vector<LayerOp> ops_;
  std::vector<Buffer> grads_;
};

}  // namespace

std::vector<Row> measure_layer(Bench& bench, const LayerShape& shape) {
  const int tp = bench.tp.size();
  Row base;
  base.pattern = "layer";
  base.dims = {shape.tokens(), shape.hidden, shape.ffn};
  std::int64_t serial_wrong = -1;
  {
    Layer serial(bench, shape, TpMethod::serial);
    base.flops = serial.flops();
    base.comm_bytes = serial.comm_bytes();
    base.busbw_factor = serial.busbw_factor();
    base.gemm_us = bench.time_us([&] { serial.run_gemms_only(); });
    base.comm_us = bench.time_us([&] { serial.run_comms_only(); });
    base.serial_us = bench.time_us([&] { serial.run(); });
    if (bench.options.check) serial_wrong = serial.wrong(1);
  }
  return rows_per_method(bench, base, serial_wrong, [&](TpMethod method, Row& row) {
    Layer layer(bench, shape, method);
    row.split_us = bench.time_us([&] { layer.run_gemms_only(); });
    row.time_us = bench.time_us([&] { layer.run(); });
    // Ring sums travel rounded to the element type: one rounding per step.
    if (bench.options.check) row.wrong = layer.wrong(method == TpMethod::ring ? tp + 1 : 1);
  });
}

}  // namespace awsdt::megatron
