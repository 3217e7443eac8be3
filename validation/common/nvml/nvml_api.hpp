// NVML, the NVIDIA driver's management library, loaded at run time (dlopen) for the node tools (awsdt-exporter,
// awsdt-healthcheck): they run on nodes without GPUs or drivers and say so rather than fail to start. The few
// types and constants used are declared here from NVML's documented ABI, so building needs no NVML header.
// Tests load libawsdt_fake_nvml.so (fake_nvml.cpp) instead of the driver's library.
#pragma once

#include <string>

namespace awsdt::nvml {

using Return = int;                  ///< nvmlReturn_t
using Device = struct Device_*;      ///< nvmlDevice_t
using EventSet = struct EventSet_*;  ///< nvmlEventSet_t

inline constexpr const char* kDefaultLibrary = "libnvidia-ml.so.1";
inline constexpr Return kSuccess = 0, kNotSupported = 3, kInsufficientSize = 7, kTimeout = 10;
inline constexpr unsigned kMaxLinks = 18;                                     ///< NVML_NVLINK_MAX_LINKS
inline constexpr int kTemperatureGpu = 0;                                     ///< NVML_TEMPERATURE_GPU
inline constexpr int kClockSm = 1, kClockMem = 2;                             ///< nvmlClockType_t
inline constexpr int kCorrected = 0, kUncorrected = 1;                        ///< nvmlMemoryErrorType_t
inline constexpr int kVolatile = 0, kAggregate = 1;                           ///< nvmlEccCounterType_t
inline constexpr int kReplay = 0, kRecovery = 1, kCrcFlit = 2, kCrcData = 3;  ///< nvmlNvLinkErrorCounter_t
inline constexpr unsigned long long kEventXid = 0x8;                          ///< nvmlEventTypeXidCriticalError

struct Utilization {  ///< nvmlUtilization_t
  unsigned gpu = 0, memory = 0;
};
struct Memory {  ///< nvmlMemory_t (bytes)
  unsigned long long total = 0, free = 0, used = 0;
};
struct EventData {  ///< nvmlEventData_t
  Device device = nullptr;
  unsigned long long type = 0, data = 0;
  unsigned gpu_instance = 0, compute_instance = 0;
};

/// The functions the node tools call. Those after `name` are optional: null when the library lacks them (older
/// drivers, fakes), and what they would read is then reported as unsupported.
struct Api {
  Return (*init)() = nullptr;
  Return (*shutdown)() = nullptr;
  Return (*count)(unsigned*) = nullptr;
  Return (*by_index)(unsigned, Device*) = nullptr;
  Return (*name)(Device, char*, unsigned) = nullptr;
  Return (*uuid)(Device, char*, unsigned) = nullptr;
  Return (*persistence)(Device, int*) = nullptr;
  Return (*retired_pages)(Device, int, unsigned*, unsigned long long*) = nullptr;
  Return (*retired_pending)(Device, int*) = nullptr;
  Return (*ecc_total)(Device, int, int, unsigned long long*) = nullptr;
  Return (*remapped_rows)(Device, unsigned*, unsigned*, unsigned*, unsigned*) = nullptr;
  Return (*link_state)(Device, unsigned, int*) = nullptr;
  Return (*link_errors)(Device, unsigned, int, unsigned long long*) = nullptr;
  Return (*utilization)(Device, Utilization*) = nullptr;
  Return (*memory)(Device, Memory*) = nullptr;
  Return (*temperature)(Device, int, unsigned*) = nullptr;
  Return (*power_mw)(Device, unsigned*) = nullptr;
  Return (*energy_mj)(Device, unsigned long long*) = nullptr;
  Return (*clock_mhz)(Device, int, unsigned*) = nullptr;
  Return (*throttle_reasons)(Device, unsigned long long*) = nullptr;
  Return (*event_set_create)(EventSet*) = nullptr;
  Return (*register_events)(Device, unsigned long long, EventSet) = nullptr;
  Return (*event_wait)(EventSet, EventData*, unsigned) = nullptr;
  Return (*event_set_free)(EventSet) = nullptr;
};

/// NVML loaded and initialized for the lifetime of the object (nvmlShutdown and dlclose at the end).
class Library {
 public:
  explicit Library(const std::string& path = kDefaultLibrary);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  /// "" when NVML is usable, else why not ("cannot load libnvidia-ml.so.1: ...", "nvmlInit_v2 failed ...").
  const std::string& error() const { return error_; }
  const Api& api() const { return api_; }
  /// The number of GPUs (0 when unusable).
  unsigned device_count() const;

 private:
  void* handle_ = nullptr;
  bool initialized_ = false;
  std::string error_;
  Api api_;
};

}  // namespace awsdt::nvml
