// gpu-membw: each GPU's memory bandwidth, measured by device-to-device copies through the core's CUDA device layer
// (as the gemm check reaches the GPUs: a build without CUDA, or a node whose driver shows no GPU, skips), against
// a fraction of the catalog's figure for the instance's GPU. Bandwidth counts the bytes read plus the bytes
// written per second, the convention of CUDA's bandwidthTest and BabelStream's copy, which vendors' HBM figures
// (H100 SXM 3.35 TB/s) are comparable with.
#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "checks/checks.hpp"
#include "device/device.hpp"

namespace awsdt::health {
namespace {

constexpr std::size_t kCopyBytes = std::size_t{1} << 30;  // two 1 GiB buffers: far beyond any L2
constexpr int kCopies = 40;

int cuda_gpus(std::string& why_none) {
  if (!AWSDT_HAVE_CUDA) {
    why_none = "built without CUDA";
    return 0;
  }
  int n = cuda_device_count();
  if (n == 0) why_none = "no GPU visible to CUDA";
  return n;
}

// Best of three timed batches of copies between two buffers on `gpu`, after a warm-up copy.
double cuda_copy_gbs(int gpu) {
  Device device = Device::cuda(gpu);
  Stream stream(device);
  Buffer a = Buffer::on(device, kCopyBytes), b = Buffer::on(device, kCopyBytes);
  memset_async(a.data(), 1, kCopyBytes, stream);
  copy_async(b.data(), a.data(), kCopyBytes, stream);
  stream.synchronize();
  double best = 0;
  for (int batch = 0; batch < 3; ++batch) {
    Event start(device), end(device);
    start.record(stream);
    for (int i = 0; i < kCopies; ++i)
      i % 2 ? copy_async(a.data(), b.data(), kCopyBytes, stream) : copy_async(b.data(), a.data(), kCopyBytes, stream);
    end.record(stream);
    end.synchronize();
    double seconds = Event::elapsed_ms(start, end) / 1e3;
    best = std::max(best, 2.0 * kCopyBytes * kCopies / seconds / 1e9);  // read + write
  }
  return best;
}

}  // namespace

void check_gpu_membw(const Context& ctx, Outcome& out) {
  GpuMemoryProbe probe = ctx.gpu_memory;
  if (!probe.count) probe = {cuda_gpus, cuda_copy_gbs};
  std::string why_none;
  int gpus = probe.count(why_none);
  if (gpus == 0) {
    out.skip(why_none + (ctx.expect && ctx.expect->gpus > 0 ? " (gpu-inventory checks the count)" : ""));
    return;
  }
  double expected = ctx.expect ? ctx.expect->memory_bw_gbs : 0;
  double floor = expected * ctx.settings.membw_min_fraction;
  if (expected <= 0) out.note("no catalog memory bandwidth for this instance type: measured, not compared");
  out.measured()["expected_gbs"] = expected;
  for (int g = 0; g < gpus; ++g) {
    double gbs = 0;
    try {
      gbs = probe.copy_gbs(g);
    } catch (const std::exception& e) {
      out.fail("failed", fmt::format("GPU {}: device-to-device copy failed: {}", g, e.what()));
      continue;
    }
    out.measured()["gpu" + std::to_string(g) + "_gbs"] = gbs;
    if (expected > 0 && gbs < floor)
      out.fail("slow", fmt::format("GPU {} memory bandwidth {:.0f} GB/s, below {:.0f} ({} of the {} figure {:.0f})", g,
                                   gbs, floor, ctx.settings.membw_min_fraction, ctx.expect->gpu, expected));
  }
}

}  // namespace awsdt::health
