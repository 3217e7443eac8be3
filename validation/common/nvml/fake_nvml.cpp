// libawsdt_fake_nvml.so: NVML's functions as the node tools (awsdt-exporter, awsdt-healthcheck) call them,
// answering from the JSON file named by $AWSDT_FAKE_NVML, read afresh at every call so that a test can change a
// GPU's state (or add an Xid) while the tool runs. A field the file leaves out reads as NVML_ERROR_NOT_SUPPORTED,
// as on GPUs without the feature; no file reads as NVML_ERROR_DRIVER_NOT_LOADED. The file:
//   {"init_error": 0, "hang_in": "<function that never returns>",
//    "gpus": [{"name", "uuid", "volatile_uncorrected", "volatile_corrected", "aggregate_uncorrected",
//              "aggregate_corrected", "nvlinks": [1, 0, ...],
//              "nvlink_errors": [[replay, recovery, crc_flit, crc_data], ...],
//              "utilization": {"gpu", "memory"}, "memory": {"total", "used"} (bytes), "temperature", "power_mw",
//              "energy_mj", "clocks": {"sm", "mem"}, "throttle_reasons", "xids": [79, ...]}]}
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvml_api.hpp"

using namespace awsdt::nvml;
using nlohmann::json;

namespace {

constexpr Return kInvalidArgument = 2, kDriverNotLoaded = 9;

json load() {
  const char* path = std::getenv("AWSDT_FAKE_NVML");
  if (!path) return nullptr;
  std::ifstream in(path);
  if (!in) return nullptr;
  return json::parse(in, nullptr, false);
}

// "hang_in": the named function never returns (a hung driver, for the node tools' timeouts).
void hang_in(const char* function) {
  json all = load();
  if (all.is_object() && all.value("hang_in", "") == function)
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

Device handle_of(unsigned i) { return reinterpret_cast<Device>(std::uintptr_t(i) + 1); }
long index_of(Device d) { return long(reinterpret_cast<std::uintptr_t>(d)) - 1; }

// The GPU's object (or null); `at` then a field path: nullptr when any part is missing.
json field(Device d, std::initializer_list<const char*> path) {
  json all = load();
  if (!all.is_object() || !all.contains("gpus")) return nullptr;
  const long i = index_of(d);
  if (i < 0 || std::size_t(i) >= all["gpus"].size()) return nullptr;
  json v = all["gpus"][std::size_t(i)];
  for (const char* p : path) {
    if (!v.is_object() || !v.contains(p)) return nullptr;
    v = json(v[p]);
  }
  return v;
}

// A number (or true/false, read as 1/0) at `path`.
template <class T>
Return answer(Device d, std::initializer_list<const char*> path, T* out) {
  json v = field(d, path);
  if (v.is_boolean()) v = v.get<bool>() ? 1 : 0;
  if (!v.is_number()) return kNotSupported;
  *out = v.get<T>();
  return kSuccess;
}

Return copy_string(const json& v, char* out, unsigned length) {
  if (!v.is_string()) return kNotSupported;
  const std::string s = v.get<std::string>();
  if (s.size() + 1 > length) return kInsufficientSize;
  std::memcpy(out, s.c_str(), s.size() + 1);
  return kSuccess;
}

// The Xids already delivered per GPU, so that each listed Xid is one event.
std::mutex delivered_mutex;
std::vector<std::size_t> delivered;

}  // namespace

extern "C" {

Return nvmlInit_v2() {
  hang_in("nvmlInit_v2");
  json all = load();
  return all.is_object() ? all.value("init_error", kSuccess) : kDriverNotLoaded;
}
Return nvmlShutdown() { return kSuccess; }
Return nvmlDeviceGetCount_v2(unsigned* n) {
  hang_in("nvmlDeviceGetCount_v2");
  json all = load();
  if (!all.is_object()) return kDriverNotLoaded;
  *n = unsigned(all.value("gpus", json::array()).size());
  return kSuccess;
}
Return nvmlDeviceGetHandleByIndex_v2(unsigned i, Device* d) {
  unsigned n = 0;
  if (nvmlDeviceGetCount_v2(&n) != kSuccess || i >= n) return kInvalidArgument;
  *d = handle_of(i);
  return kSuccess;
}
Return nvmlDeviceGetName(Device d, char* out, unsigned len) {
  hang_in("nvmlDeviceGetName");
  return copy_string(field(d, {"name"}), out, len);
}
Return nvmlDeviceGetUUID(Device d, char* out, unsigned len) { return copy_string(field(d, {"uuid"}), out, len); }
Return nvmlDeviceGetUtilizationRates(Device d, Utilization* u) {
  if (answer(d, {"utilization", "gpu"}, &u->gpu) != kSuccess) return kNotSupported;
  return answer(d, {"utilization", "memory"}, &u->memory);
}
Return nvmlDeviceGetMemoryInfo(Device d, Memory* m) {
  if (answer(d, {"memory", "total"}, &m->total) != kSuccess || answer(d, {"memory", "used"}, &m->used) != kSuccess)
    return kNotSupported;
  m->free = m->total - m->used;
  return kSuccess;
}
Return nvmlDeviceGetTemperature(Device d, int sensor, unsigned* t) {
  return sensor == kTemperatureGpu ? answer(d, {"temperature"}, t) : kNotSupported;
}
Return nvmlDeviceGetPowerUsage(Device d, unsigned* mw) { return answer(d, {"power_mw"}, mw); }
Return nvmlDeviceGetTotalEnergyConsumption(Device d, unsigned long long* mj) { return answer(d, {"energy_mj"}, mj); }
Return nvmlDeviceGetClockInfo(Device d, int type, unsigned* mhz) {
  return answer(d, {"clocks", type == kClockSm ? "sm" : type == kClockMem ? "mem" : "other"}, mhz);
}
Return nvmlDeviceGetCurrentClocksThrottleReasons(Device d, unsigned long long* r) {
  return answer(d, {"throttle_reasons"}, r);
}
Return nvmlDeviceGetTotalEccErrors(Device d, int error, int counter, unsigned long long* n) {
  const char* key = error == kCorrected ? (counter == kVolatile ? "volatile_corrected" : "aggregate_corrected")
                                        : (counter == kVolatile ? "volatile_uncorrected" : "aggregate_uncorrected");
  return answer(d, {key}, n);
}
Return nvmlDeviceGetNvLinkState(Device d, unsigned link, int* active) {
  hang_in("nvmlDeviceGetNvLinkState");
  json links = field(d, {"nvlinks"});
  if (!links.is_array() || link >= links.size()) return kNotSupported;
  *active = links[link].get<int>() != 0 ? 1 : 0;
  return kSuccess;
}
Return nvmlDeviceGetNvLinkErrorCounter(Device d, unsigned link, int counter, unsigned long long* n) {
  json errors = field(d, {"nvlink_errors"});
  if (!errors.is_array() || link >= errors.size() || counter < 0 || std::size_t(counter) >= errors[link].size())
    return kNotSupported;
  *n = errors[link][std::size_t(counter)].get<unsigned long long>();
  return kSuccess;
}
Return nvmlEventSetCreate(EventSet* set) {
  *set = reinterpret_cast<EventSet>(std::uintptr_t(1));
  return kSuccess;
}
Return nvmlDeviceRegisterEvents(Device, unsigned long long, EventSet) { return kSuccess; }
Return nvmlEventSetFree(EventSet) { return kSuccess; }
// The next Xid listed in the file and not yet delivered, else a timeout after `ms` (at most 100 ms at a time,
// polling the file, so that a test's new Xid is seen soon).
Return nvmlEventSetWait_v2(EventSet, EventData* e, unsigned ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  do {
    unsigned n = 0;
    if (nvmlDeviceGetCount_v2(&n) == kSuccess) {
      std::lock_guard lock(delivered_mutex);
      delivered.resize(std::max<std::size_t>(delivered.size(), n));
      for (unsigned i = 0; i < n; ++i) {
        json xids = field(handle_of(i), {"xids"});
        if (!xids.is_array() || delivered[i] >= xids.size()) continue;
        *e = EventData{handle_of(i), kEventXid, xids[delivered[i]++].get<unsigned long long>(), 0, 0};
        return kSuccess;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 100u)));
  } while (std::chrono::steady_clock::now() < until);
  return kTimeout;
}

}  // extern "C"

// What awsdt-healthcheck's checks also read, per GPU: "persistence" (0/1), "retired_pages": {"sbe", "dbe",
// "pending"}, "remapped_rows": {"pending", "failure"}.

extern "C" {

Return nvmlDeviceGetPersistenceMode(Device d, int* mode) {
  hang_in("nvmlDeviceGetPersistenceMode");
  return answer(d, {"persistence"}, mode);
}
Return nvmlDeviceGetRetiredPages(Device d, int cause, unsigned* count, unsigned long long* addresses) {
  unsigned n = 0;
  if (Return r = answer(d, {"retired_pages", cause == 1 ? "dbe" : "sbe"}, &n); r != kSuccess) return r;
  const bool fits = *count >= n;
  for (unsigned i = 0; addresses && i < n && i < *count; ++i) addresses[i] = 0x1000ULL * (i + 1);
  *count = n;
  return fits ? kSuccess : kInsufficientSize;
}
Return nvmlDeviceGetRetiredPagesPendingStatus(Device d, int* pending) {
  return answer(d, {"retired_pages", "pending"}, pending);
}
Return nvmlDeviceGetRemappedRows(Device d, unsigned* corr, unsigned* unc, unsigned* pending, unsigned* failure) {
  *corr = *unc = 0;
  if (Return r = answer(d, {"remapped_rows", "pending"}, pending); r != kSuccess) return r;
  return answer(d, {"remapped_rows", "failure"}, failure);
}

}  // extern "C"
