// Running the tests on each device (see runner.hpp).
#include "runner.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "bench/sizes.hpp"
#include "endpoint.hpp"
#include "provider.hpp"
#include "transfers.hpp"
#include "util/error.hpp"

namespace awsdt::fabric {
namespace {

constexpr std::size_t kWindowBudget = 256ull << 20;  // bytes of distinct window slots per buffer

bool is_rma(TestKind k) { return k == TestKind::rma_write || k == TestKind::rma_read; }

bool needs_rma(const Options& o) {
  for (auto k : o.tests)
    if (is_rma(k)) return true;
  return false;
}

// A window test posts -W receives (or sends) before it waits for any: more than the provider's queues hold is
// refused at once, where it would fail to post (shm: ENOMEM) or wait on a peer that waits too (tcp).
void check_window(const Options& o, const fi_info& info) {
  bool windows = false;
  for (auto k : o.tests) windows |= k != TestKind::pingpong;
  const auto queue = std::min(info.tx_attr->size, info.rx_attr->size);
  if (windows && queue > 0 && std::size_t(o.window) > queue)
    throw UsageError(fmt::format("-W/--window {}: provider {} queues at most {} operations each way; use -W {} or less",
                                 o.window, info.fabric_attr->prov_name, queue, queue));
}

// Both sides must agree on a flag (e.g. whether RMA is there), or one would wait for the other forever.
bool both(Link& link, bool mine) {
  auto peer = link.exchange({std::uint8_t(mine)});
  return mine && !peer.empty() && peer[0] != 0;
}

std::vector<std::uint8_t> pack(const RemoteRegion& a, const RemoteRegion& b) {
  std::vector<std::uint8_t> out(4 * sizeof(std::uint64_t));
  std::uint64_t v[4] = {a.base, a.key, b.base, b.key};
  std::memcpy(out.data(), v, out.size());
  return out;
}

// Opens the endpoint on `device` and runs every test there.
void run_device(const Options& o, const Plan& plan, const std::string& device, Link& link, TableReport& report,
                Outcome& out) {
  Request request{plan.provider, device, plan.memory.is_cuda(), true};
  InfoPtr info = needs_rma(o) ? find_info(request) : nullptr;
  bool rma = both(link, info != nullptr);
  if (!info) {
    request.rma = false;
    info = require_info(request);
  }
  check_window(o, *info);
  const std::string domain = info->domain_attr->name ? info->domain_attr->name : "";
  const std::size_t stride = (std::max<std::uint64_t>(o.max_bytes, 1) + 63) / 64 * 64;
  const std::size_t slots = std::clamp<std::size_t>(kWindowBudget / stride, 1, std::size_t(o.window));
  // In flight at most: a window each way (bibw), or a window and its ack, plus pingpong's next receive.
  Endpoint ep(*info, stride * slots, plan.memory, o.timing.timeout_s, 2 * std::size_t(o.window) + 2);
  ep.set_alive_check([&link] { link.check_peer(); });
  ep.set_peer(link.exchange(ep.address()));
  auto peer = link.exchange(pack(ep.remote_view(ep.tx()), ep.remote_view(ep.rx())));
  std::uint64_t v[4];
  std::memcpy(v, peer.data(), sizeof v);
  Session s{ep, link, o, false, stride, slots, {v[0], v[1]}, {v[2], v[3]}};

  report.line(info_line(*info));
  out.infos.push_back(info_json(*info));
  const auto sizes = size_sweep(o.min_bytes, o.max_bytes, o.step_factor, o.step_bytes);
  std::uint32_t seed = 1;
  for (auto kind : o.tests) {
    if (is_rma(kind) && !rma) {
      auto note = fmt::format("{} skipped on {}: provider {} offers no FI_RMA with remote CQ data here",
                              test_name(kind), domain, plan.provider);
      report.line(note);
      out.notes.push_back(note);
      continue;
    }
    // An RMA test moves data without messages; its acks take the first message kind, and it runs once.
    auto messages = is_rma(kind) ? std::vector<std::string>{o.messages.front()} : o.messages;
    for (const auto& message : messages) {
      s.tagged = message == "tagged";
      report.begin_test(std::string(test_name(kind)), is_rma(kind) ? "rma" : message, domain);
      for (auto bytes : sizes) {
        auto m = measure(kind, s, bytes, seed++);
        if (link.side() != 0) continue;
        out.rows.push_back(make_row(std::string(test_name(kind)), is_rma(kind) ? "rma" : message, domain, bytes,
                                    o.timing.iters, m.latency_us, m.wrong));
        report.row(out.rows.back());
      }
    }
  }
}

}  // namespace

Outcome run_side(const Options& o, const Plan& plan, Link& link, TableReport& report) {
  Outcome out;
  for (const auto& device : plan.devices) run_device(o, plan, device, link, report, out);
  return out;
}

Outcome run_loopback(const Options& o, const Plan& plan, TableReport& report) {
  LoopbackHub hub(o.timing.timeout_s);
  Outcome outcomes[2];
  std::exception_ptr first;
  std::mutex mutex;
  TableReport quiet(stdout, false, false);
  auto side = [&](int k) {
    try {
      LoopbackLink link(hub, k);
      outcomes[k] = run_side(o, plan, link, k == 0 ? report : quiet);
    } catch (...) {
      {
        std::lock_guard lock(mutex);
        if (!first) first = std::current_exception();  // the cause; the other side's error only follows it
      }
      hub.fail(k);
    }
  };
  std::thread responder(side, 1);
  side(0);
  responder.join();
  if (first) std::rethrow_exception(first);
  return std::move(outcomes[0]);
}

}  // namespace awsdt::fabric
