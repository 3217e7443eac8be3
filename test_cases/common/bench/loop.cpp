// Timed loops (see loop.hpp).
#include "bench/loop.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "device/cuda/cuda_api.hpp"
#include "util/error.hpp"

namespace awsdt {

void synchronize_or_throw(Stream& stream, double timeout_s, const char* what) {
  if (timeout_s <= 0) return stream.synchronize();
  auto limit = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  if (!stream.synchronize_for(limit))
    AWSDT_THROW(fmt::format("{} did not complete within {:.1f} s (a peer may be dead or stuck)", what, timeout_s));
}

namespace {

void sync_all(std::span<Stream> streams, double timeout_s) {
  for (auto& s : streams) synchronize_or_throw(s, timeout_s, "the timed loop");
}

// Host-timed loop with a synchronization after every iteration.
std::vector<double> blocking_loop(std::span<Stream> streams, const LoopConfig& c,
                                  const std::function<void(int)>& launch) {
  std::vector<double> samples;
  double total = 0;
  for (int i = 0; i < c.iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    launch(i);
    sync_all(streams, c.timeout_s);
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (c.per_iteration) samples.push_back(us);
    total += us;
  }
  if (!c.per_iteration) samples.push_back(total / c.iters);
  return samples;
}

}  // namespace

std::vector<double> time_loop(std::span<Stream> streams, const LoopConfig& c, const std::function<void(int)>& launch) {
  AWSDT_CHECK(c.iters > 0, "a timed loop needs at least one iteration");
  for (int i = 0; i < c.warmup; ++i) launch(i);
  sync_all(streams, c.timeout_s);
  if (c.before_timing) c.before_timing();
  if (c.blocking) return blocking_loop(streams, c, launch);

  auto make_events = [&] {
    std::vector<Event> events;
    for (auto& s : streams) events.emplace_back(s.device());
    return events;
  };
  auto record = [&](std::vector<Event>& events) {
    for (std::size_t k = 0; k < streams.size(); ++k) events[k].record(streams[k]);
  };
  auto elapsed_us = [&](const std::vector<Event>& a, const std::vector<Event>& b) {
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, Event::elapsed_ms(a[k], b[k]) * 1000.0);
    return worst;
  };

  if (c.graph_launches > 0) {
    AWSDT_CHECK(streams[0].device().is_cuda(), "CUDA graphs (-G) need GPU streams");
    std::vector<void*> graphs;
    for (auto& s : streams) cuda::api().graph_capture_begin(s.native_handle());
    for (int i = 0; i < c.iters; ++i) launch(i);
    for (auto& s : streams) graphs.push_back(cuda::api().graph_capture_end(s.native_handle()));
    auto start = make_events(), stop = make_events();
    record(start);
    for (int g = 0; g < c.graph_launches; ++g)
      for (std::size_t k = 0; k < streams.size(); ++k) cuda::api().graph_launch(graphs[k], streams[k].native_handle());
    record(stop);
    sync_all(streams, c.timeout_s);
    for (void* g : graphs) cuda::api().graph_destroy(g);
    return {elapsed_us(start, stop) / (double(c.iters) * c.graph_launches)};
  }

  // On CPU streams the whole timed loop is one stream task, so the time is the operations' and not the queue's
  // (the CPU counterpart of replaying a captured CUDA graph).
  auto as_one_task = [&](const std::function<void()>& body) {
    if (streams.size() == 1 && !streams[0].device().is_cuda())
      streams[0].enqueue(body);
    else
      body();
  };

  if (c.per_iteration) {
    std::vector<std::vector<Event>> marks;
    for (int i = 0; i <= c.iters; ++i) marks.push_back(make_events());
    as_one_task([&] {
      record(marks[0]);
      for (int i = 0; i < c.iters; ++i) {
        launch(i);
        record(marks[std::size_t(i) + 1]);
      }
    });
    sync_all(streams, c.timeout_s);
    std::vector<double> samples;
    for (int i = 0; i < c.iters; ++i) samples.push_back(elapsed_us(marks[std::size_t(i)], marks[std::size_t(i) + 1]));
    return samples;
  }

  auto start = make_events(), stop = make_events();
  as_one_task([&] {
    record(start);
    for (int i = 0; i < c.iters; ++i) launch(i);
    record(stop);
  });
  sync_all(streams, c.timeout_s);
  return {elapsed_us(start, stop) / c.iters};
}

}  // namespace awsdt
