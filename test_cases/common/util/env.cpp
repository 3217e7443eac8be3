// Environment access (see env.hpp).
#include "util/env.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "util/error.hpp"

extern char** environ;

namespace awsdt {

std::optional<std::string> env_string(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

std::optional<long> env_int(const char* name) {
  auto s = env_string(name);
  if (!s) return std::nullopt;
  long value = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
  if (ec != std::errc() || ptr != s->data() + s->size() || s->empty())
    throw UsageError(fmt::format("{}='{}' is not an integer", name, *s));
  return value;
}

std::string env_required(const char* name, const char* why) {
  auto s = env_string(name);
  if (!s || s->empty()) throw UsageError(fmt::format("{} is not set; it is needed {}", name, why));
  return *s;
}

std::map<std::string, std::string> captured_environment() {
  static constexpr std::string_view prefixes[] = {
      "NCCL_",       "FI_",  "CUDA_",      "OMPI_",      "SLURM_",           "PMIX_RANK",     "MASTER_ADDR",
      "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "AWS_BATCH_JOB_"};
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = kv.substr(0, eq);
    for (auto p : prefixes) {
      bool exact_only = p.back() != '_';
      if ((exact_only && key == p) || (!exact_only && key.starts_with(p))) {
        out.emplace(std::string(key), std::string(kv.substr(eq + 1)));
        break;
      }
    }
  }
  return out;
}

}  // namespace awsdt
