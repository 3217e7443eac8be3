// Device, Buffer, Stream and Event: CPU implementations here, CUDA calls through device/cuda/cuda_api.hpp.
#include "device/device.hpp"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "device/cuda/cuda_api.hpp"
#include "util/error.hpp"

namespace awsdt {

// ---------------------------------------------------------------------------------------------- Device

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.starts_with("cuda:")) {
    auto idx = text.substr(5);
    int value = 0;
    bool ok = !idx.empty();
    for (char c : idx) {
      if (c < '0' || c > '9')
        ok = false;
      else
        value = value * 10 + (c - '0');
    }
    if (ok) return cuda(value);
  }
  throw UsageError(fmt::format("unknown device '{}'; expected cpu, cuda or cuda:N", text));
}

std::string Device::str() const { return is_cuda() ? fmt::format("cuda:{}", index) : "cpu"; }

void Device::make_current() const {
  if (is_cuda()) cuda::api().set_device(index);
}

std::string device_description(const Device& device) {
  if (device.is_cuda()) return cuda::api().device_name(device.index);
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  return "cpu";
}

MemoryUse memory_use(const Device& device) {
  if (!device.is_cuda()) return {};
  std::size_t free = 0, total = 0;
  cuda::api().memory_info(device.index, &free, &total);
  return {static_cast<std::int64_t>(total - free), static_cast<std::int64_t>(total)};
}

namespace cuda {
const CudaApi& api() {
  const CudaApi* runtime = cuda_runtime();
  if (!runtime) AWSDT_THROW("this build of awsdt has no CUDA support (configured without CUDA)");
  return *runtime;
}
}  // namespace cuda

int cuda_device_count() {
  try {
    return cuda::available() ? cuda::api().device_count() : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------- Buffer

namespace {
constexpr std::size_t kHostAlignment = 256;  // matches cudaMalloc's alignment, and covers AVX-512 loads
}

Buffer::Buffer(std::size_t bytes, MemoryKind kind, Device device) : bytes_(bytes), kind_(kind), device_(device) {
  if (bytes == 0) return;
  switch (kind) {
    case MemoryKind::Host:
      data_ = std::aligned_alloc(kHostAlignment, (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment);
      if (!data_) AWSDT_THROW(fmt::format("out of host memory allocating {} bytes", bytes));
      break;
    case MemoryKind::Pinned: data_ = cuda::api().malloc_pinned(bytes); break;
    case MemoryKind::Device: data_ = cuda::api().malloc_device(bytes, device.index); break;
  }
}

Buffer Buffer::on(const Device& device, std::size_t bytes) {
  return device.is_cuda() ? Buffer(bytes, MemoryKind::Device, device) : Buffer(bytes, MemoryKind::Host);
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      kind_(other.kind_),
      device_(other.device_) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    kind_ = other.kind_;
    device_ = other.device_;
  }
  return *this;
}

void Buffer::release() noexcept {
  if (!data_) return;
  switch (kind_) {
    case MemoryKind::Host: std::free(data_); break;
    case MemoryKind::Pinned: cuda::api().free_pinned(data_); break;
    case MemoryKind::Device: cuda::api().free_device(data_); break;
  }
  data_ = nullptr;
}

// ---------------------------------------------------------------------------------------------- Stream

// The CPU FIFO's state is shared with its worker thread, so that a stream destroyed while its worker is stuck
// (a peer died in the middle of a collective) can let go of the thread instead of joining it forever.
struct CpuQueue {
  std::mutex mutex;
  std::condition_variable work_cv;  // the worker waits here for tasks
  std::condition_variable done_cv;  // synchronize() waits here
  std::deque<std::function<void()>> queue;
  std::size_t enqueued = 0, completed = 0;
  // The smallest ticket a waiter needs: the worker wakes waiters only then, not after every task (a loop of
  // thousands of small collectives must not cost a context switch each).
  std::size_t wake_at = SIZE_MAX;
  std::exception_ptr error;
  bool stopping = false;
  std::atomic<std::thread::id> worker_id{};

  bool on_worker() const { return std::this_thread::get_id() == worker_id.load(std::memory_order_relaxed); }

  void run() {
    worker_id = std::this_thread::get_id();
    std::unique_lock lock(mutex);
    for (;;) {
      work_cv.wait(lock, [this] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping with nothing left
      auto task = std::move(queue.front());
      queue.pop_front();
      bool skip = error != nullptr;
      lock.unlock();
      std::exception_ptr failure;
      if (!skip) {
        try {
          task();
        } catch (...) {
          failure = std::current_exception();
        }
      }
      task = nullptr;  // release captures outside the lock
      lock.lock();
      if (failure && !error) error = failure;
      if (++completed >= wake_at) {
        wake_at = SIZE_MAX;
        done_cv.notify_all();
      }
    }
  }

  std::size_t push(std::function<void()> task) {
    // Work issued from inside one of this stream's own tasks is already in stream order: run it now (this is
    // how a whole timed loop runs as one task, like a CUDA graph, with no queueing cost per operation).
    if (on_worker()) {
      task();
      return 0;
    }
    std::size_t ticket;
    {
      std::lock_guard lock(mutex);
      queue.push_back(std::move(task));
      ticket = ++enqueued;
    }
    work_cv.notify_one();
    return ticket;
  }

  // Waits until every task enqueued before the call has run; false on timeout.
  bool wait_for(std::chrono::milliseconds timeout) {
    if (on_worker()) return true;  // inside a task, everything before it has already run
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex);
    std::size_t target = enqueued;
    while (completed < target) {
      wake_at = std::min(wake_at, target);
      if (done_cv.wait_until(lock, deadline) == std::cv_status::timeout && completed < target) return false;
    }
    if (error) {
      auto e = error;
      error = nullptr;  // reported once; the stream is usable again
      std::rethrow_exception(e);
    }
    return true;
  }
};

struct Stream::Impl {
  Device device;
  void* cuda_stream = nullptr;
  std::shared_ptr<CpuQueue> cpu;
  std::thread worker;

  explicit Impl(const Device& d) : device(d) {
    if (d.is_cuda()) {
      cuda_stream = cuda::api().stream_create(d.index);
      return;
    }
    cpu = std::make_shared<CpuQueue>();
    worker = std::thread([q = cpu] { q->run(); });
  }

  ~Impl() {
    if (cuda_stream) {
      cuda::api().stream_destroy(cuda_stream);
      return;
    }
    bool idle;
    {
      std::lock_guard lock(cpu->mutex);
      cpu->stopping = true;
      idle = cpu->completed == cpu->enqueued;
    }
    cpu->work_cv.notify_all();
    // An idle worker exits at once. A busy one may be blocked for good (on an unreachable peer): like
    // cudaStreamDestroy, return now and let the work finish, or the process end, without us.
    if (idle)
      worker.join();
    else
      worker.detach();
  }

  std::size_t push(std::function<void()> task) { return cpu->push(std::move(task)); }
};

Stream::Stream(const Device& device) : impl_(std::make_shared<Impl>(device)) {}

const Device& Stream::device() const { return impl_->device; }

bool Stream::runs_here() const { return impl_->cpu && impl_->cpu->on_worker(); }

double Stream::cpu_time_ms() const {
  if (!impl_->cpu) return 0.0;
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(impl_->worker.native_handle(), &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0.0;
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void Stream::enqueue(std::function<void()> task) {
  AWSDT_CHECK(!impl_->device.is_cuda(), "host tasks cannot be enqueued on a CUDA stream");
  impl_->push(std::move(task));
}

bool Stream::synchronize_for(std::chrono::milliseconds timeout) {
  if (impl_->cuda_stream) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cuda::api().stream_query(impl_->cuda_stream)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return true;
  }
  return impl_->cpu->wait_for(timeout);
}

void Stream::synchronize() {
  if (impl_->cuda_stream) return cuda::api().stream_synchronize(impl_->cuda_stream);
  synchronize_for(std::chrono::hours(24 * 365));
}

void* Stream::native_handle() const { return impl_ ? impl_->cuda_stream : nullptr; }

// ---------------------------------------------------------------------------------------------- Event

struct Event::Impl {
  Device device;
  void* cuda_event = nullptr;
  // CPU: the number of times recorded, the number completed, and the completion time of the latest.
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t recorded = 0, completed = 0;
  std::chrono::steady_clock::time_point when;

  explicit Impl(const Device& d) : device(d) {
    if (d.is_cuda()) cuda_event = cuda::api().event_create(d.index);
  }
  ~Impl() {
    if (cuda_event) cuda::api().event_destroy(cuda_event);
  }
};

Event::Event(const Device& device) : impl_(std::make_shared<Impl>(device)) {}

void Event::record(Stream& stream) {
  if (impl_->cuda_event) return cuda::api().event_record(impl_->cuda_event, stream.native_handle());
  std::size_t ticket;
  {
    std::lock_guard lock(impl_->mutex);
    ticket = ++impl_->recorded;
  }
  auto state = impl_;
  stream.impl_->push([state, ticket] {
    {
      std::lock_guard lock(state->mutex);
      state->completed = std::max(state->completed, ticket);
      state->when = std::chrono::steady_clock::now();
    }
    state->cv.notify_all();
  });
}

void Event::synchronize() const {
  if (impl_->cuda_event) return cuda::api().event_synchronize(impl_->cuda_event);
  std::unique_lock lock(impl_->mutex);
  impl_->cv.wait(lock, [&] { return impl_->completed >= impl_->recorded; });
}

bool Event::done() const {
  if (impl_->cuda_event) return cuda::api().event_query(impl_->cuda_event);
  std::lock_guard lock(impl_->mutex);
  return impl_->completed >= impl_->recorded;
}

double Event::elapsed_ms(const Event& start, const Event& end) {
  if (start.impl_->cuda_event) return cuda::api().event_elapsed_ms(start.impl_->cuda_event, end.impl_->cuda_event);
  start.synchronize();
  end.synchronize();
  return std::chrono::duration<double, std::milli>(end.impl_->when - start.impl_->when).count();
}

void Stream::wait(const Event& event) {
  if (impl_->cuda_stream) return cuda::api().stream_wait_event(impl_->cuda_stream, event.impl_->cuda_event);
  std::size_t target;
  {
    std::lock_guard lock(event.impl_->mutex);
    target = event.impl_->recorded;
  }
  auto state = event.impl_;
  impl_->push([state, target] {
    std::unique_lock lock(state->mutex);
    state->cv.wait(lock, [&] { return state->completed >= target; });
  });
}

// ---------------------------------------------------------------------------------------------- copies

void copy_async(void* dst, const void* src, std::size_t bytes, Stream& stream) {
  if (stream.device().is_cuda()) return cuda::api().memcpy_async(dst, src, bytes, stream.native_handle());
  stream.enqueue([=] { std::memcpy(dst, src, bytes); });
}

void memset_async(void* dst, int value, std::size_t bytes, Stream& stream) {
  if (stream.device().is_cuda()) return cuda::api().memset_async(dst, value, bytes, stream.native_handle());
  stream.enqueue([=] { std::memset(dst, value, bytes); });
}

}  // namespace awsdt
