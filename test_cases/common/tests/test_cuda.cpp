// GPU tests (label gpu): the CUDA fill/verify kernels against the CPU reference, and the NCCL backend in one
// process over every visible GPU. Skipped with a message where no GPU is visible.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"
#include "comm/nccl/nccl_communicator.hpp"
#include "device/device.hpp"
#include "kernels/fill.hpp"
#include "support/gpu.hpp"

using namespace awsdt;

TEST(CudaKernels, FillMatchesTheCpuReferenceForEveryDtype) {
  REQUIRE_GPU();
  Stream s(Device::cuda(0));
  const std::size_t n = 100003;
  for (DataType t : all_dtypes()) {
    auto pattern = kernels::pattern_for(t, true, ReduceOp::sum, 3, 4);
    Buffer dev(n * dtype_size(t), MemoryKind::Device, Device::cuda(0));
    std::vector<unsigned char> from_gpu(n * dtype_size(t)), from_cpu(n * dtype_size(t));
    kernels::fill_pattern(dev.data(), n, t, pattern, 2, 17, s);
    copy_async(from_gpu.data(), dev.data(), from_gpu.size(), s);
    s.synchronize();
    kernels::cpu::fill_pattern(from_cpu.data(), n, t, pattern, 2, 17);
    EXPECT_EQ(from_gpu, from_cpu) << dtype_name(t);
    kernels::Expectation e{false, ReduceOp::sum, 1, 17, 0, 2, pattern, 0};
    EXPECT_EQ(kernels::count_mismatches(dev.data(), n, t, e, s), 0u) << dtype_name(t);
    memset_async(dev.data(), 0xff, dtype_size(t), s);
    EXPECT_EQ(kernels::count_mismatches(dev.data(), n, t, e, s), 1u) << dtype_name(t);
  }
}

TEST(NcclBackend, AllReduceAcrossEveryVisibleGpuInOneProcess) {
  REQUIRE_GPU();
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", "29512", 1);
  ::setenv("RANK", "0", 1);
  ::setenv("WORLD_SIZE", "1", 1);
  auto boot = make_env_bootstrap(std::chrono::seconds(10));
  std::vector<Device> devices;
  for (int i = 0; i < cuda_device_count(); ++i) devices.push_back(Device::cuda(i));
  auto comms = make_nccl_communicators(*boot, devices);
  const std::size_t n = 1 << 20;
  std::vector<Stream> streams;
  std::vector<Buffer> sends, bufs;
  for (auto& d : devices) {
    streams.emplace_back(d);
    sends.emplace_back(n * sizeof(float), MemoryKind::Device, d);
    bufs.emplace_back(n * sizeof(float), MemoryKind::Device, d);
  }
  // Out of place, into a buffer of NaNs: on one GPU (where the sum is the input) the data must still move.
  for (std::size_t k = 0; k < devices.size(); ++k) {
    std::vector<float> host(n, float(k + 1));
    copy_async(sends[k].data(), host.data(), n * sizeof(float), streams[k]);
    memset_async(bufs[k].data(), 0xff, n * sizeof(float), streams[k]);
    streams[k].synchronize();
  }
  comms[0]->group_start();
  for (std::size_t k = 0; k < devices.size(); ++k)
    comms[k]->all_reduce(sends[k].data(), bufs[k].data(), n, DataType::f32, ReduceOp::sum, streams[k]);
  comms[0]->group_end();
  float want = float(devices.size() * (devices.size() + 1) / 2);
  for (std::size_t k = 0; k < devices.size(); ++k) {
    std::vector<float> host(n);
    copy_async(host.data(), bufs[k].data(), n * sizeof(float), streams[k]);
    streams[k].synchronize();
    for (std::size_t i = 0; i < n; i += 4099) ASSERT_EQ(host[i], want);
  }
}
