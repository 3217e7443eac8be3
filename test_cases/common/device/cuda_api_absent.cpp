// Stand-in for device/cuda/cuda_api.cpp in builds without CUDA: every device call explains why it cannot run.
#include "device/cuda/cuda_api.hpp"
#include "util/error.hpp"

namespace awsdt::cuda {
namespace {
[[noreturn]] void absent() { AWSDT_THROW("this build of awsdt has no CUDA support (configured without CUDA)"); }
}  // namespace

int device_count() { return 0; }
std::string device_name(int) { absent(); }
void set_device(int) { absent(); }
void* malloc_device(std::size_t, int) { absent(); }
void* malloc_pinned(std::size_t) { absent(); }
void free_device(void*) noexcept {}
void free_pinned(void*) noexcept {}
void* stream_create(int) { absent(); }
void stream_destroy(void*) noexcept {}
void stream_synchronize(void*) { absent(); }
bool stream_query(void*) { absent(); }
void* event_create(int) { absent(); }
void event_destroy(void*) noexcept {}
void event_record(void*, void*) { absent(); }
void event_synchronize(void*) { absent(); }
bool event_query(void*) { absent(); }
float event_elapsed_ms(void*, void*) { absent(); }
void stream_wait_event(void*, void*) { absent(); }
void memcpy_async(void*, const void*, std::size_t, void*) { absent(); }
void memset_async(void*, int, std::size_t, void*) { absent(); }
void memory_info(int, std::size_t*, std::size_t*) { absent(); }
void graph_capture_begin(void*) { absent(); }
void* graph_capture_end(void*) { absent(); }
void graph_launch(void*, void*) { absent(); }
void graph_destroy(void*) noexcept {}
int runtime_version() { return 0; }
int driver_version() { return 0; }

}  // namespace awsdt::cuda
