// CpuBackend: compute runs on the calling thread, so every ordering call is a wait or nothing. Element-wise work
// on the compute side uses the OpenMP team; work on a stream runs on that stream's thread, single-threaded, so
// that it does not take cores from the compute side's team.
#include "train/cpu_backend.hpp"

#include "kernels/cpu/elementwise.hpp"
#include "nn/model.hpp"
#include "util/error.hpp"

namespace awsdt::train {
namespace {

namespace kc = kernels::cpu;

class CpuBackend final : public CpuComputeBackend {
 public:
  CpuBackend(const nn::ModelConfig& config, bool recompute, DataType compute)
      : model_(config), layouts_(nn::unit_layouts(config)), compute_(compute) {
    AWSDT_CHECK(compute == DataType::f32 || compute == DataType::bf16, "CpuBackend: compute dtype is f32 or bf16");
    model_.set_recompute(recompute);
    if (compute_ == DataType::bf16) widened_.resize(layouts_.size());
  }

  DataType compute_dtype() const override { return compute_; }
  const nn::ModelConfig& config() const override { return model_.config(); }
  const std::vector<nn::UnitLayout>& layouts() const override { return layouts_; }

  void bind(int unit, const void* params, float* grads) override {
    if (compute_ == DataType::bf16) {  // the test hook: widen the bf16 params the engine gathered
      std::vector<float>& wide = widened_[static_cast<std::size_t>(unit)];
      wide.resize(layouts_[static_cast<std::size_t>(unit)].size);
      kc::convert(wide.data(), DataType::f32, params, DataType::bf16, wide.size(), kc::Threads::team);
      params = wide.data();
    }
    model_.bind(unit, static_cast<const float*>(params), grads);
  }
  void forward_begin(const nn::TokenBatch& b) override {
    model_.forward_begin(b.inputs.data(), b.targets.data(), b.B, b.T);
  }
  double forward_unit(int unit) override { return forward_unit_of(model_, unit); }
  void backward_unit(int unit) override { backward_unit_of(model_, unit); }
  std::int64_t activation_bytes() const override { return model_.activation_bytes(); }

 private:
  nn::Model model_;
  std::vector<nn::UnitLayout> layouts_;
  DataType compute_;
  std::vector<std::vector<float>> widened_;  // per unit, with compute_ == bf16
};

// Compute side: now, on this thread's OpenMP team. A stream: on its thread, in order.
template <class F>
void run(Stream* on, F&& work) {
  if (on) {
    on->enqueue([work = std::forward<F>(work)] { work(kc::Threads::caller); });
  } else {
    work(kc::Threads::team);
  }
}

}  // namespace

void CpuComputeBackend::convert(void* dst, DataType dt, const void* src, DataType st, std::size_t n, Stream* on) {
  run(on, [=](kc::Threads t) { kc::convert(dst, dt, src, st, n, t); });
}
void CpuComputeBackend::accumulate(float* acc, const void* src, DataType st, std::size_t n, Stream* on) {
  run(on, [=](kc::Threads t) { kc::accumulate(acc, src, st, n, t); });
}
void CpuComputeBackend::zero(void* dst, std::size_t bytes, Stream* on) {
  run(on, [=](kc::Threads t) { kc::zero(dst, bytes, t); });
}
double CpuComputeBackend::sum_of_squares(const std::vector<FloatSpan>& spans) {
  double sq = 0;
  for (const FloatSpan& x : spans) sq += nn::sum_of_squares({x.data, x.n});
  return sq;
}
void CpuComputeBackend::adamw(float* p, const float* g, float* m, float* v, std::size_t n, const nn::AdamWScalars& s,
                              bool decay) {
  nn::adamw_update(p, g, m, v, n, s, decay);
}

std::unique_ptr<UnitBackend> make_cpu_backend(const nn::ModelConfig& config, bool recompute, DataType compute) {
  return std::make_unique<CpuBackend>(config, recompute, compute);
}

}  // namespace awsdt::train
