// GPU peak lookup in the instance catalog.
#include "results/catalog.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace awsdt {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

std::optional<double> gpu_peak_tflops(const std::string& gpu_name, std::string_view catalog_json) {
  const nlohmann::json catalog = nlohmann::json::parse(catalog_json, nullptr, /*allow_exceptions=*/false);
  if (!catalog.is_object() || !catalog.contains("instances") || !catalog["instances"].is_object()) return std::nullopt;
  const std::string name = upper(gpu_name);
  const bool not_sxm = name.find("PCIE") != std::string::npos || name.find("NVL") != std::string::npos;
  std::optional<double> best;
  std::size_t best_len = 0;
  for (const auto& [type, inst] : catalog["instances"].items()) {
    if (!inst.is_object()) continue;
    const std::string gpu = upper(inst.value("gpu", ""));
    const std::string model = gpu.substr(0, gpu.find('-'));
    if (model.empty() || !inst.contains("peak_bf16_tflops")) continue;
    if (not_sxm && gpu.find("-SXM") != std::string::npos) continue;
    if (name.find(model) != std::string::npos && model.size() > best_len) {
      best = inst["peak_bf16_tflops"].get<double>();
      best_len = model.size();
    }
  }
  return best;
}

}  // namespace awsdt
