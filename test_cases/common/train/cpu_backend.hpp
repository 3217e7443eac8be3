// The CPU UnitBackend: nn::Model in fp32, element-wise loops on OpenMP threads (or on a CPU stream's thread).
#pragma once

#include <memory>

#include "nn/config.hpp"
#include "train/unit_backend.hpp"

namespace awsdt::train {

/// What every CPU backend shares: compute on the calling thread (ordering calls are waits or nothing) and the
/// element-wise work, on the OpenMP team or, given a stream, on its thread.
class CpuComputeBackend : public UnitBackend {
 public:
  const Device& device() const override { return device_; }
  void compute_waits_for(const Event& e) override { e.synchronize(); }
  void comm_waits_for_compute(Stream&) override {}
  void synchronize() override {}
  void convert(void* dst, DataType dt, const void* src, DataType st, std::size_t n, Stream* on) override;
  void accumulate(float* acc, const void* src, DataType st, std::size_t n, Stream* on) override;
  void zero(void* dst, std::size_t bytes, Stream* on) override;
  double sum_of_squares(const std::vector<FloatSpan>& spans) override;
  void adamw(float* p, const float* g, float* m, float* v, std::size_t n, const nn::AdamWScalars& s,
             bool decay) override;

 private:
  Device device_ = Device::cpu();
};

/// A backend running config's model on this process's CPU threads, with activation recomputation if asked.
/// compute = bf16 is a test hook: the engine then hands the model bf16 params, as it does on GPUs, and the
/// backend widens them to compute in fp32, so the GPU's gather-and-convert path runs under MPI on CPUs.
std::unique_ptr<UnitBackend> make_cpu_backend(const nn::ModelConfig& config, bool recompute,
                                              DataType compute = DataType::f32);

}  // namespace awsdt::train
