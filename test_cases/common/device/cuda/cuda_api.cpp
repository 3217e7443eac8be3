// CUDA runtime calls for the device layer (see cuda_api.hpp). Host code only; built when CUDA is found.
#include "device/cuda/cuda_api.hpp"

#include <cuda_runtime.h>

#include <cstdio>

#include "device/cuda/check_cuda.hpp"

namespace awsdt::cuda {
namespace {

class Runtime final : public CudaApi {
 public:
  int device_count() const override {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: clear the sticky error, report zero
      return 0;
    }
    return n;
  }

  std::string device_name(int index) const override {
    cudaDeviceProp prop{};
    AWSDT_CHECK_CUDA(cudaGetDeviceProperties(&prop, index));
    char buf[512];
    std::snprintf(buf, sizeof(buf), "[%04x:%02x:%02x] %s", prop.pciDomainID, prop.pciBusID, prop.pciDeviceID,
                  prop.name);
    return buf;
  }

  void set_device(int index) const override { AWSDT_CHECK_CUDA(cudaSetDevice(index)); }

  void* malloc_device(std::size_t bytes, int device) const override {
    set_device(device);
    void* p = nullptr;
    AWSDT_CHECK_CUDA(cudaMalloc(&p, bytes));
    return p;
  }

  void* malloc_pinned(std::size_t bytes) const override {
    void* p = nullptr;
    AWSDT_CHECK_CUDA(cudaMallocHost(&p, bytes));
    return p;
  }

  void free_device(void* p) const noexcept override { cudaFree(p); }
  void free_pinned(void* p) const noexcept override { cudaFreeHost(p); }

  void* stream_create(int device) const override {
    set_device(device);
    cudaStream_t s = nullptr;
    AWSDT_CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  }

  void stream_destroy(void* stream) const noexcept override { cudaStreamDestroy(static_cast<cudaStream_t>(stream)); }
  void stream_synchronize(void* stream) const override {
    AWSDT_CHECK_CUDA(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
  }

  bool stream_query(void* stream) const override {
    auto rc = cudaStreamQuery(static_cast<cudaStream_t>(stream));
    if (rc == cudaErrorNotReady) return false;
    AWSDT_CHECK_CUDA(rc);
    return true;
  }

  void* event_create(int device) const override {
    set_device(device);
    cudaEvent_t e = nullptr;
    AWSDT_CHECK_CUDA(cudaEventCreate(&e));
    return e;
  }

  void event_destroy(void* event) const noexcept override { cudaEventDestroy(static_cast<cudaEvent_t>(event)); }
  void event_record(void* event, void* stream) const override {
    AWSDT_CHECK_CUDA(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
  }
  void event_synchronize(void* event) const override {
    AWSDT_CHECK_CUDA(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
  }

  bool event_query(void* event) const override {
    auto rc = cudaEventQuery(static_cast<cudaEvent_t>(event));
    if (rc == cudaErrorNotReady) return false;
    AWSDT_CHECK_CUDA(rc);
    return true;
  }

  float event_elapsed_ms(void* start, void* end) const override {
    float ms = 0;
    AWSDT_CHECK_CUDA(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)));
    return ms;
  }

  void stream_wait_event(void* stream, void* event) const override {
    AWSDT_CHECK_CUDA(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0));
  }

  void memcpy_async(void* dst, const void* src, std::size_t bytes, void* stream) const override {
    AWSDT_CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(stream)));
  }

  void memset_async(void* dst, int value, std::size_t bytes, void* stream) const override {
    AWSDT_CHECK_CUDA(cudaMemsetAsync(dst, value, bytes, static_cast<cudaStream_t>(stream)));
  }

  void memory_info(int device, std::size_t* free, std::size_t* total) const override {
    set_device(device);
    AWSDT_CHECK_CUDA(cudaMemGetInfo(free, total));
  }

  void graph_capture_begin(void* stream) const override {
    AWSDT_CHECK_CUDA(cudaStreamBeginCapture(static_cast<cudaStream_t>(stream), cudaStreamCaptureModeThreadLocal));
  }

  void* graph_capture_end(void* stream) const override {
    cudaGraph_t graph = nullptr;
    AWSDT_CHECK_CUDA(cudaStreamEndCapture(static_cast<cudaStream_t>(stream), &graph));
    cudaGraphExec_t exec = nullptr;
    AWSDT_CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    cudaGraphDestroy(graph);
    return exec;
  }

  void graph_launch(void* graph_exec, void* stream) const override {
    AWSDT_CHECK_CUDA(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graph_exec), static_cast<cudaStream_t>(stream)));
  }

  void graph_destroy(void* graph_exec) const noexcept override {
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graph_exec));
  }

  int runtime_version() const override {
    int v = 0;
    return cudaRuntimeGetVersion(&v) == cudaSuccess ? v : 0;
  }

  int driver_version() const override {
    int v = 0;
    return cudaDriverGetVersion(&v) == cudaSuccess ? v : 0;
  }
};

}  // namespace

const CudaApi* cuda_runtime() {
  static const Runtime runtime;
  return &runtime;
}

}  // namespace awsdt::cuda
