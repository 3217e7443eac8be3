// TpOverlap (see tp_overlap.hpp).
#include "train/tp_overlap.hpp"

#include <chrono>

#include "kernels/gemm.hpp"

namespace awsdt::train {

using parallel::GemmDims;
using parallel::TpGemm;
using parallel::TpPattern;

/// The CPU GEMM engine, timing each GEMM where it runs (on the compute stream's thread). Made on the rank's main
/// thread, so that the inner engine takes that thread's OpenMP thread count.
class TimedGemmEngine final : public kernels::GemmEngine {
 public:
  TimedGemmEngine() : inner_(kernels::make_gemm_engine(Device::cpu())) {}

  void run(const kernels::GemmShape& shape, DataType dtype, const void* a, const void* b, void* c, float beta,
           Stream& stream) override {
    // Inside the task the stream runs here, so the inner engine computes at once.
    stream.enqueue([=, this, s = &stream] {
      const auto t0 = std::chrono::steady_clock::now();
      inner_->run(shape, dtype, a, b, c, beta, *s);
      busy_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    });
  }
  /// Read after the stream's synchronize() (which orders it after the tasks).
  double busy_ms() const { return busy_ms_; }

 private:
  std::unique_ptr<kernels::GemmEngine> inner_;
  double busy_ms_ = 0;
};

TpOverlap::TpOverlap(Communicator& tp, parallel::TpMethod method, int chunks)
    : tp_(tp),
      method_(method),
      chunks_(chunks),
      compute_(Device::cpu()),
      comm_(Device::cpu()),
      engine_(std::make_unique<TimedGemmEngine>()) {}

TpOverlap::~TpOverlap() = default;

TpGemm& TpOverlap::op(TpPattern pattern, GemmDims dims, bool w_out_in) {
  auto& slot = ops_[{static_cast<int>(pattern), dims.m, dims.n, dims.k, w_out_in}];
  if (!slot) {
    const parallel::TpResources r{tp_, compute_, comm_, *engine_, DataType::f32};
    // Pipelined chunks never exceed the rows they split (a short micro-batch).
    const int rows = pattern == TpPattern::gemm_ar ? dims.m : dims.m / tp_.size();
    slot = std::make_unique<TpGemm>(r, pattern, method_, dims, std::min(chunks_, rows), w_out_in);
  }
  return *slot;
}

void TpOverlap::run(TpGemm& g, const void* a, const void* b, void* c) {
  const double busy0 = engine_->busy_ms();
  const auto t0 = std::chrono::steady_clock::now();
  g.run(a, b, c);
  compute_.synchronize();
  const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  exposed_ms_ += std::max(0.0, wall - (engine_->busy_ms() - busy0));
}

const float* TpOverlap::ag_gemm(const float* shard, const float* w, bool w_out_in, int N, int n, int k, float* out) {
  TpGemm& g = op(TpPattern::ag_gemm, {N, n * tp_.size(), k}, w_out_in);
  run(g, shard, w, out);
  return static_cast<const float*>(g.gathered());
}

void TpOverlap::gemm_rs(const float* a, const float* w, bool w_out_in, int N, int n, int k, float* shard) {
  run(op(TpPattern::gemm_rs, {N, n, k * tp_.size()}, w_out_in), a, w, shard);
}

void TpOverlap::gemm_ar(const float* a, const float* w, bool w_out_in, int N, int n, int k, float* out) {
  run(op(TpPattern::gemm_ar, {N, n, k * tp_.size()}, w_out_in), a, w, out);
}

double TpOverlap::take_exposed_ms() {
  const double ms = exposed_ms_;
  exposed_ms_ = 0;
  return ms;
}

}  // namespace awsdt::train
