// GPU peak lookup in the instance catalog.
#include "gpu_peak.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "awsdt/config.hpp"

namespace awsdt::fsdp {

std::optional<double> gpu_peak_tflops(const std::string& gpu_name, const std::string& catalog_path) {
  std::ifstream in(catalog_path);
  if (!in) return std::nullopt;
  const nlohmann::json catalog = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!catalog.is_object() || !catalog.contains("instances")) return std::nullopt;
  // The longest matching model wins, so that "H100" cannot shadow a hypothetical "H100X".
  std::optional<double> best;
  std::size_t best_len = 0;
  for (const auto& [type, inst] : catalog["instances"].items()) {
    const std::string gpu = inst.value("gpu", "");
    const std::string model = gpu.substr(0, gpu.find('-'));
    if (model.empty() || !inst.contains("peak_bf16_tflops")) continue;
    if (gpu_name.find(model) != std::string::npos && model.size() > best_len) {
      best = inst["peak_bf16_tflops"].get<double>();
      best_len = model.size();
    }
  }
  return best;
}

std::string default_instance_catalog() { return std::string(AWSDT_SOURCE_DIR) + "/architectures/instances.json"; }

}  // namespace awsdt::fsdp
