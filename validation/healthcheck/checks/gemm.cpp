// gemm: the throughput of the core's GEMM engine (cuBLASLt bf16 on each GPU, OpenBLAS sgemm on CPUs) against what
// the device should reach: a fraction of the catalog's dense bf16 peak on GPUs, --gemm-min-gflops on CPUs.
#include <chrono>

#include <fmt/format.h>

#include "checks/checks.hpp"
#include "kernels/fill.hpp"
#include "kernels/gemm.hpp"
#include "kernels/pattern.hpp"

namespace awsdt::health {
namespace {

// FLOP/s of n×n×n GEMMs on `device` over about half a second, after one warm-up.
double measure_gemm(const Device& device, int n) {
  const DataType type = device.is_cuda() ? DataType::bf16 : DataType::f32;
  const std::size_t count = static_cast<std::size_t>(n) * n;
  Stream stream(device);
  std::vector<Buffer> m;
  // Pattern values, not uninitialized memory: denormals or NaNs would time something else.
  auto pattern = kernels::pattern_for(type, false, ReduceOp::sum, 1, 1);
  for (int i = 0; i < 3; ++i) {
    m.push_back(Buffer::on(device, count * dtype_size(type)));
    kernels::fill_pattern(m.back().data(), count, type, pattern, i, 0, stream);
  }
  auto engine = kernels::make_gemm_engine(device);
  kernels::GemmShape shape{n, n, n};
  auto run = [&] { engine->run(shape, type, m[0].data(), m[1].data(), m[2].data(), 0.0f, stream); };
  run();
  stream.synchronize();
  int runs = 0;
  auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (runs < 3 || elapsed < 0.5) {
    run();
    stream.synchronize();
    ++runs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return shape.flops() * runs / elapsed;
}

}  // namespace

void check_gemm(const Context& ctx, Outcome& out) {
  int gpus = cuda_device_count();
  if (gpus == 0) {
    double flops = measure_gemm(Device::cpu(), ctx.settings.gemm_n);
    out.measured()["cpu_gflops"] = flops / 1e9;
    if (ctx.settings.gemm_min_gflops <= 0)
      out.note(fmt::format("CPU sgemm {:.1f} GFLOP/s (no floor: --gemm-min-gflops)", flops / 1e9));
    else if (flops / 1e9 < ctx.settings.gemm_min_gflops)
      out.fail("slow", fmt::format("CPU sgemm {:.1f} GFLOP/s, below {} (--gemm-min-gflops)", flops / 1e9,
                                   ctx.settings.gemm_min_gflops));
    return;
  }
  if (!ctx.expect || ctx.expect->peak_bf16_tflops <= 0) {
    out.note("instance type unknown: GPU GEMM throughput reported, not compared");
  }
  for (int g = 0; g < gpus; ++g) {
    double tflops = measure_gemm(Device::cuda(g), ctx.settings.gemm_n) / 1e12;
    out.measured()["gpu" + std::to_string(g) + "_tflops"] = tflops;
    if (!ctx.expect || ctx.expect->peak_bf16_tflops <= 0) continue;
    double floor = ctx.expect->peak_bf16_tflops * ctx.settings.gemm_min_fraction;
    if (tflops < floor)
      out.fail("slow",
               fmt::format("GPU {} bf16 GEMM {:.0f} TFLOP/s, below {:.0f} ({} of the {} peak {})", g, tflops, floor,
                           ctx.settings.gemm_min_fraction, ctx.expect->gpu, ctx.expect->peak_bf16_tflops));
  }
}

}  // namespace awsdt::health
