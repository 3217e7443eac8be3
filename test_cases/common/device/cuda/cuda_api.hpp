// The CUDA runtime calls the device layer needs, behind plain types. Implemented in cuda_api.cpp when built
// with CUDA; otherwise every call throws "built without CUDA". Internal to libawsdt.
#pragma once

#include <cstddef>
#include <string>

namespace awsdt::cuda {

int device_count();
/// "[0000:04:00] NVIDIA H100 80GB HBM3": the PCI address and name, as nccl-tests prints them.
std::string device_name(int index);
void set_device(int index);
void* malloc_device(std::size_t bytes, int device);
void* malloc_pinned(std::size_t bytes);
void free_device(void* p) noexcept;
void free_pinned(void* p) noexcept;
void* stream_create(int device);
void stream_destroy(void* stream) noexcept;
void stream_synchronize(void* stream);
bool stream_query(void* stream);
void* event_create(int device);
void event_destroy(void* event) noexcept;
void event_record(void* event, void* stream);
void event_synchronize(void* event);
bool event_query(void* event);
float event_elapsed_ms(void* start, void* end);
void stream_wait_event(void* stream, void* event);
void memcpy_async(void* dst, const void* src, std::size_t bytes, void* stream);
void memset_async(void* dst, int value, std::size_t bytes, void* stream);
void memory_info(int device, std::size_t* free, std::size_t* total);
/// CUDA graphs: capture everything enqueued on `stream` between begin and end into an executable graph.
void graph_capture_begin(void* stream);
void* graph_capture_end(void* stream);
void graph_launch(void* graph_exec, void* stream);
void graph_destroy(void* graph_exec) noexcept;
/// Runtime and driver versions as CUDA encodes them (1000*major + 10*minor); 0 when unavailable.
int runtime_version();
int driver_version();

}  // namespace awsdt::cuda
