// The gpu collector (see gpu_collector.hpp).
#include "gpu_collector.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace awsdt::exporter {
using prometheus::MetricType;
namespace n = awsdt::nvml;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// dcgm-exporter's labels for a GPU.
std::map<std::string, std::string> gpu_labels(const n::Api& api, n::Device d, unsigned index) {
  char name[96] = {}, uuid[96] = {};
  api.name(d, name, sizeof name);
  if (api.uuid) api.uuid(d, uuid, sizeof uuid);
  return {
      {"gpu", std::to_string(index)}, {"UUID", uuid}, {"modelName", name}, {"device", fmt::format("nvidia{}", index)}};
}

// Adds the sample when NVML answered: a GPU that does not support a reading has no sample, not a zero.
struct GpuSink {
  FamilySet& out;
  const std::map<std::string, std::string>& labels;
  void add(n::Return r, const std::string& name, const std::string& help, MetricType type, double value) const {
    if (r == n::kSuccess) out.add(name, help, type, labels, value);
  }
};

void add_activity(const n::Api& api, n::Device d, const GpuSink& s) {
  n::Utilization u;
  n::Return r = api.utilization ? api.utilization(d, &u) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", MetricType::Gauge, u.gpu);
  s.add(r, "DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", MetricType::Gauge, u.memory);
  n::Memory m;
  r = api.memory ? api.memory(d, &m) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", MetricType::Gauge, double(m.free) / kMiB);
  s.add(r, "DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", MetricType::Gauge, double(m.used) / kMiB);
  s.add(r, "DCGM_FI_DEV_FB_TOTAL", "Framebuffer memory total (in MiB).", MetricType::Gauge, double(m.total) / kMiB);
  unsigned v = 0;
  r = api.temperature ? api.temperature(d, n::kTemperatureGpu, &v) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", MetricType::Gauge, v);
  r = api.power_mw ? api.power_mw(d, &v) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", MetricType::Gauge, v / 1000.0);
  unsigned long long energy = 0;
  r = api.energy_mj ? api.energy_mj(d, &energy) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "Total energy consumption since boot (in mJ).", MetricType::Counter,
        double(energy));
  r = api.clock_mhz ? api.clock_mhz(d, n::kClockSm, &v) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", MetricType::Gauge, v);
  r = api.clock_mhz ? api.clock_mhz(d, n::kClockMem, &v) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz).", MetricType::Gauge, v);
  unsigned long long reasons = 0;
  r = api.throttle_reasons ? api.throttle_reasons(d, &reasons) : n::kNotSupported;
  s.add(r, "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "Current clock throttle reasons (NVML's bit mask).", MetricType::Gauge,
        double(reasons));
}

void add_errors(const n::Api& api, n::Device d, const GpuSink& s) {
  struct Ecc {
    int error, counter;
    const char* name;
    const char* help;
  };
  static const Ecc ecc[] = {
      {n::kCorrected, n::kVolatile, "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "Total single-bit volatile ECC errors."},
      {n::kUncorrected, n::kVolatile, "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "Total double-bit volatile ECC errors."},
      {n::kCorrected, n::kAggregate, "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL", "Total single-bit persistent ECC errors."},
      {n::kUncorrected, n::kAggregate, "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "Total double-bit persistent ECC errors."}};
  for (const Ecc& e : ecc) {
    unsigned long long count = 0;
    const n::Return r = api.ecc_total ? api.ecc_total(d, e.error, e.counter, &count) : n::kNotSupported;
    s.add(r, e.name, e.help, MetricType::Counter, double(count));
  }
  if (!api.link_state) return;
  // dcgm-exporter's NVLink error fields are totals over the GPU's links.
  static const char* names[] = {
      "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL", "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL",
      "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL"};
  unsigned long long totals[4] = {0, 0, 0, 0};
  unsigned links = 0, active = 0;
  for (unsigned l = 0; l < n::kMaxLinks; ++l) {
    int on = 0;
    if (api.link_state(d, l, &on) != n::kSuccess) continue;  // a link this GPU does not have
    ++links;
    active += on != 0;
    for (int c = 0; c < 4; ++c) {
      unsigned long long v = 0;
      if (api.link_errors && api.link_errors(d, l, c, &v) == n::kSuccess) totals[c] += v;
    }
  }
  if (links == 0) return;
  for (int c = 0; c < 4; ++c)
    s.add(n::kSuccess, names[c], "NVLink errors of this kind, summed over the GPU's links.", MetricType::Counter,
          double(totals[c]));
  s.add(n::kSuccess, "awsdt_gpu_nvlinks_active", "NVLinks of the GPU that are up.", MetricType::Gauge, active);
  s.add(n::kSuccess, "awsdt_gpu_nvlinks", "NVLinks the GPU has.", MetricType::Gauge, links);
}

}  // namespace

GpuCollector::GpuCollector(const std::string& library) : nvml_(std::make_unique<nvml::Library>(library)) {
  if (nvml_->error().empty() && nvml_->api().event_wait) xid_thread_ = std::thread([this] { watch_xids(); });
}

GpuCollector::~GpuCollector() {
  stop_ = true;
  if (xid_thread_.joinable()) xid_thread_.join();
}

// NVML delivers each Xid once, as an event: counted here from the start, as dcgm-exporter reads them.
void GpuCollector::watch_xids() {
  const n::Api& api = nvml_->api();
  n::EventSet set = nullptr;
  if (api.event_set_create(&set) != n::kSuccess) return;
  std::map<n::Device, unsigned> index;
  for (unsigned i = 0; i < nvml_->device_count(); ++i) {
    n::Device d = nullptr;
    if (api.by_index(i, &d) == n::kSuccess && api.register_events(d, n::kEventXid, set) == n::kSuccess) index[d] = i;
  }
  while (!stop_) {
    n::EventData e;
    if (api.event_wait(set, &e, 500) != n::kSuccess || !(e.type & n::kEventXid) || !index.contains(e.device)) continue;
    std::lock_guard lock(xid_mutex_);
    ++xids_[index[e.device]][e.data];
    last_xid_[index[e.device]] = e.data;
  }
  api.event_set_free(set);
}

std::string GpuCollector::collect(FamilySet& out) const {
  if (!nvml_->error().empty()) return nvml_->error();
  const unsigned count = nvml_->device_count();
  for (unsigned i = 0; i < count; ++i) collect_gpu(out, i);
  return "";
}

void GpuCollector::collect_gpu(FamilySet& out, unsigned index) const {
  const n::Api& api = nvml_->api();
  n::Device d = nullptr;
  if (api.by_index(index, &d) != n::kSuccess) return;
  const auto labels = gpu_labels(api, d, index);
  const GpuSink sink{out, labels};
  add_activity(api, d, sink);
  add_errors(api, d, sink);
  std::lock_guard lock(xid_mutex_);
  std::uint64_t total = 0;
  if (auto it = xids_.find(index); it != xids_.end())
    for (const auto& [xid, count] : it->second) {
      auto with_xid = labels;
      with_xid["xid"] = std::to_string(xid);
      out.add("awsdt_gpu_xid_errors_total", "Xid errors NVML reported since the exporter started, by Xid.",
              MetricType::Counter, with_xid, double(count));
      total += count;
    }
  if (auto it = last_xid_.find(index); it != last_xid_.end())
    sink.add(n::kSuccess, "DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered.", MetricType::Gauge,
             double(it->second));
  sink.add(n::kSuccess, "awsdt_gpu_xid_errors", "Xid errors NVML reported since the exporter started, all Xids.",
           MetricType::Counter, double(total));
}

}  // namespace awsdt::exporter
