// Environment access: typed reads with clear errors, and the filtered capture recorded in result documents.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace awsdt {

/// The variable's value, or nullopt when unset.
std::optional<std::string> env_string(const char* name);
/// The variable as an integer; throws UsageError naming the variable when it is set but not an integer.
std::optional<long> env_int(const char* name);
/// The variable, which must be set; throws UsageError naming it and `why` otherwise.
std::string env_required(const char* name, const char* why);
/// Variables that shape a run: NCCL_*, FI_*, CUDA_*, OMPI_*, SLURM_*, plus the torchrun set.
std::map<std::string, std::string> captured_environment();

}  // namespace awsdt
