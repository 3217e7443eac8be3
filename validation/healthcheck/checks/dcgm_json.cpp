// dcgmi diag's JSON (see dcgm_json.hpp).
#include "checks/dcgm_json.hpp"

#include <nlohmann/json.hpp>

namespace awsdt::health {
namespace {

const nlohmann::json* diagnostic_root(const nlohmann::json& doc) {
  for (const auto& [key, value] : doc.items())
    if (key.find("Diagnostic") != std::string::npos && value.is_object() && value.contains("test_categories"))
      return &value;
  return nullptr;
}

std::string warning_text(const nlohmann::json& result) {
  std::string text;
  if (result.contains("warnings") && result["warnings"].is_array())
    for (const auto& w : result["warnings"])
      text += (text.empty() ? "" : " ") + (w.is_object() ? w.value("warning", "") : w.dump());
  if (text.empty()) text = result.value("info", "");
  auto gpu = result.contains("gpu_ids") ? result["gpu_ids"].dump() : result.value("gpu_id", std::string());
  return gpu.empty() ? text : "GPU " + gpu + (text.empty() ? "" : ": " + text);
}

}  // namespace

std::optional<DcgmDiag> parse_dcgm_diag(std::string_view text) {
  auto begin = text.find('{');
  auto end = text.rfind('}');
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) return std::nullopt;
  auto doc = nlohmann::json::parse(text.substr(begin, end - begin + 1), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto* root = diagnostic_root(doc);
  if (!root) return std::nullopt;
  DcgmDiag out;
  for (const auto& category : (*root)["test_categories"])
    for (const auto& test : category.value("tests", nlohmann::json::array()))
      for (const auto& result : test.value("results", nlohmann::json::array())) {
        ++out.tests;
        auto status = result.value("status", "");
        if (status == "Pass" || status == "Skip" || status.empty()) continue;
        int level = result.contains("warning_level") ? result["warning_level"].get<int>() : status == "Warn" ? 1 : 3;
        if (level <= 0) continue;
        out.failed.push_back({test.value("name", "?"), status, warning_text(result), std::min(level, 3)});
      }
  return out;
}

}  // namespace awsdt::health
