// The CUDA runtime calls the device layer needs, behind plain types: an interface whose one implementation
// (cuda_api.cpp) exists only in builds with CUDA. cuda_runtime() is the single factory: null in a build without
// CUDA (device/cuda_absent.cpp), so no CUDA-shaped stand-ins exist there. Internal to libawsdt.
#pragma once

#include <cstddef>
#include <string>

namespace awsdt::cuda {

class CudaApi {
 public:
  virtual ~CudaApi() = default;
  virtual int device_count() const = 0;
  /// "[0000:04:00] NVIDIA H100 80GB HBM3": the PCI address and name, as nccl-tests prints them.
  virtual std::string device_name(int index) const = 0;
  virtual void set_device(int index) const = 0;
  virtual void* malloc_device(std::size_t bytes, int device) const = 0;
  virtual void* malloc_pinned(std::size_t bytes) const = 0;
  virtual void free_device(void* p) const noexcept = 0;
  virtual void free_pinned(void* p) const noexcept = 0;
  virtual void* stream_create(int device) const = 0;
  virtual void stream_destroy(void* stream) const noexcept = 0;
  virtual void stream_synchronize(void* stream) const = 0;
  virtual bool stream_query(void* stream) const = 0;
  virtual void* event_create(int device) const = 0;
  virtual void event_destroy(void* event) const noexcept = 0;
  virtual void event_record(void* event, void* stream) const = 0;
  virtual void event_synchronize(void* event) const = 0;
  virtual bool event_query(void* event) const = 0;
  virtual float event_elapsed_ms(void* start, void* end) const = 0;
  virtual void stream_wait_event(void* stream, void* event) const = 0;
  virtual void memcpy_async(void* dst, const void* src, std::size_t bytes, void* stream) const = 0;
  virtual void memset_async(void* dst, int value, std::size_t bytes, void* stream) const = 0;
  virtual void memory_info(int device, std::size_t* free, std::size_t* total) const = 0;
  /// CUDA graphs: capture everything enqueued on `stream` between begin and end into an executable graph.
  virtual void graph_capture_begin(void* stream) const = 0;
  virtual void* graph_capture_end(void* stream) const = 0;
  virtual void graph_launch(void* graph_exec, void* stream) const = 0;
  virtual void graph_destroy(void* graph_exec) const noexcept = 0;
  /// Runtime and driver versions as CUDA encodes them (1000*major + 10*minor); 0 when unavailable.
  virtual int runtime_version() const = 0;
  virtual int driver_version() const = 0;
};

/// The CUDA runtime of this build, or nullptr when it was configured without CUDA.
const CudaApi* cuda_runtime();

/// Whether this build has CUDA (devices may still be absent: device_count() says).
inline bool available() { return cuda_runtime() != nullptr; }
/// The CUDA runtime; throws "built without CUDA" in a build without it.
const CudaApi& api();

}  // namespace awsdt::cuda
