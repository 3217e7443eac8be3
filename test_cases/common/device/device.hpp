// Devices, memory, streams and events behind one interface for CPUs and CUDA GPUs.
// CUDA types never appear here: a CPU-only build compiles every benchmark's host code against this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace awsdt {

enum class DeviceType { Cpu, Cuda };

/// A place where memory lives and work runs: "cpu" or "cuda:N".
struct Device {
  DeviceType type = DeviceType::Cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index) { return {DeviceType::Cuda, index}; }
  /// Parses "cpu", "cuda" (= cuda:0) or "cuda:N"; throws UsageError naming the accepted forms.
  static Device parse(std::string_view text);
  bool is_cuda() const { return type == DeviceType::Cuda; }
  std::string str() const;
  /// Makes this the current device of the calling thread (no-op on CPU).
  void make_current() const;
  bool operator==(const Device&) const = default;
};

/// One line naming the hardware: the CPU model, or the GPU's name and PCI bus id.
std::string device_description(const Device& device);

/// Number of CUDA devices visible to this process (0 when built without CUDA or without a driver).
int cuda_device_count();

/// A GPU's memory in use (by every process and the driver, as nvidia-smi counts it) and its size, in bytes;
/// both 0 for the CPU.
struct MemoryUse {
  std::int64_t used = 0, total = 0;
};
MemoryUse memory_use(const Device& device);

enum class MemoryKind { Host, Pinned, Device };

/// An owned, aligned allocation of host, pinned-host or device memory. Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(std::size_t bytes, MemoryKind kind, Device device = Device::cpu());
  /// Host memory on CPU devices, device memory on CUDA devices.
  static Buffer on(const Device& device, std::size_t bytes);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T>
  T* as() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }
  std::size_t bytes() const { return bytes_; }
  MemoryKind kind() const { return kind_; }
  const Device& device() const { return device_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  MemoryKind kind_ = MemoryKind::Host;
  Device device_;
};

class Event;

/// An ordered queue of work on a device, as a CUDA stream is. On CPUs it is a FIFO run by its own thread,
/// so work enqueued here overlaps with the caller's compute exactly as GPU work does.
class Stream {
 public:
  Stream() = default;
  /// A new stream on `device`.
  explicit Stream(const Device& device);
  const Device& device() const;
  /// CPU streams: runs `task` after everything enqueued before it. A task that throws makes the stream fail:
  /// later tasks are skipped and synchronize() rethrows the first error.
  void enqueue(std::function<void()> task);
  /// True when called from inside one of this CPU stream's tasks: work issued there runs at once, in order.
  bool runs_here() const;
  /// Blocks until all enqueued work is done; rethrows a failed task's error.
  void synchronize();
  /// Like synchronize but gives up after `timeout`; returns false if work is still pending.
  bool synchronize_for(std::chrono::milliseconds timeout);
  /// Work enqueued after this call waits until `event` has completed.
  void wait(const Event& event);
  /// CPU streams: the CPU time its worker thread has used so far, in ms (on CPUs communication costs cycles
  /// that no overlap can hide from cores that all compute); CUDA streams: 0.
  double cpu_time_ms() const;
  /// The cudaStream_t of a CUDA stream (nullptr on CPU).
  void* native_handle() const;
  explicit operator bool() const { return impl_ != nullptr; }

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  friend class Event;
};

/// A marker in a stream: completion can be waited for, and two events give the time between them.
class Event {
 public:
  Event() = default;
  explicit Event(const Device& device);
  /// Marks the current end of `stream`.
  void record(Stream& stream);
  void synchronize() const;
  bool done() const;
  /// Milliseconds between two completed events recorded on streams of the same device.
  static double elapsed_ms(const Event& start, const Event& end);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  friend class Stream;
};

/// Asynchronous copy of `bytes` between any two of host, pinned and device memory, ordered on `stream`.
void copy_async(void* dst, const void* src, std::size_t bytes, Stream& stream);
/// Asynchronous byte fill, ordered on `stream`.
void memset_async(void* dst, int value, std::size_t bytes, Stream& stream);

}  // namespace awsdt
