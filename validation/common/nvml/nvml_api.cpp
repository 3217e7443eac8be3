// NVML through dlopen (see nvml_api.hpp).
#include "nvml_api.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

namespace awsdt::nvml {
namespace {

template <class F>
bool bind(void* handle, F& fn, const char* symbol) {
  fn = reinterpret_cast<F>(::dlsym(handle, symbol));
  return fn != nullptr;
}

void bind_optional(void* h, Api& a) {
  bind(h, a.uuid, "nvmlDeviceGetUUID");
  bind(h, a.persistence, "nvmlDeviceGetPersistenceMode");
  bind(h, a.retired_pages, "nvmlDeviceGetRetiredPages");
  bind(h, a.retired_pending, "nvmlDeviceGetRetiredPagesPendingStatus");
  bind(h, a.ecc_total, "nvmlDeviceGetTotalEccErrors");
  bind(h, a.remapped_rows, "nvmlDeviceGetRemappedRows");
  bind(h, a.link_state, "nvmlDeviceGetNvLinkState");
  bind(h, a.link_errors, "nvmlDeviceGetNvLinkErrorCounter");
  bind(h, a.utilization, "nvmlDeviceGetUtilizationRates");
  bind(h, a.memory, "nvmlDeviceGetMemoryInfo");
  bind(h, a.temperature, "nvmlDeviceGetTemperature");
  bind(h, a.power_mw, "nvmlDeviceGetPowerUsage");
  bind(h, a.energy_mj, "nvmlDeviceGetTotalEnergyConsumption");
  bind(h, a.clock_mhz, "nvmlDeviceGetClockInfo");
  bind(h, a.throttle_reasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
  bind(h, a.event_set_create, "nvmlEventSetCreate");
  bind(h, a.register_events, "nvmlDeviceRegisterEvents");
  bind(h, a.event_wait, "nvmlEventSetWait_v2");
  bind(h, a.event_set_free, "nvmlEventSetFree");
}

}  // namespace

Library::Library(const std::string& path) {
  handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    error_ = fmt::format("cannot load {}: {}", path, ::dlerror());
    return;
  }
  if (!bind(handle_, api_.init, "nvmlInit_v2") || !bind(handle_, api_.shutdown, "nvmlShutdown") ||
      !bind(handle_, api_.count, "nvmlDeviceGetCount_v2") ||
      !bind(handle_, api_.by_index, "nvmlDeviceGetHandleByIndex_v2") ||
      !bind(handle_, api_.name, "nvmlDeviceGetName")) {
    error_ = fmt::format("{} lacks the NVML functions nvmlInit_v2 ... nvmlDeviceGetName", path);
    return;
  }
  bind_optional(handle_, api_);
  if (Return r = api_.init(); r != kSuccess) {
    error_ = fmt::format("nvmlInit_v2 failed (NVML error {})", r);
    return;
  }
  initialized_ = true;
}

Library::~Library() {
  if (initialized_) api_.shutdown();
  if (handle_) ::dlclose(handle_);
}

unsigned Library::device_count() const {
  unsigned n = 0;
  if (!error_.empty() || api_.count(&n) != kSuccess) return 0;
  return n;
}

}  // namespace awsdt::nvml
