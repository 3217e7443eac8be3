// The Xid table and the kernel log parser (see xid.hpp).
#include "xid.hpp"

#include <regex>

#include <nlohmann/json.hpp>

#include "check_data.hpp"
#include "util/error.hpp"

namespace awsdt::health {
namespace {

const nlohmann::json& table() {
  static const nlohmann::json doc = nlohmann::json::parse(embedded_xid_json());
  return doc;
}

const nlohmann::json* row_of(int xid) {
  for (const auto& row : table().at("rows"))
    for (const auto& x : row.at("xids"))
      if (x.get<int>() == xid) return &row;
  return nullptr;
}

Severity parse_or_throw(const std::string& name) {
  auto s = parse_severity(name);
  if (!s) AWSDT_THROW("xid_actions.json: unknown severity '" + name + "'");
  return *s;
}

}  // namespace

Severity xid_severity(int xid, std::string_view gpu_name, std::string_view message) {
  const auto* row = row_of(xid);
  if (!row) return parse_or_throw(table().at("default").get<std::string>());
  if (row->contains("message_severity"))
    for (const auto& m : row->at("message_severity"))
      if (message.find(m.at("contains").get<std::string>()) != std::string_view::npos)
        return parse_or_throw(m.at("severity").get<std::string>());
  if (row->contains("gpu_severity"))
    for (const auto& [model, severity] : row->at("gpu_severity").items())
      if (gpu_name.find(model) != std::string_view::npos) return parse_or_throw(severity.get<std::string>());
  return parse_or_throw(row->at("severity").get<std::string>());
}

std::string xid_meaning(int xid) {
  const auto* row = row_of(xid);
  return row ? row->value("meaning", "") : "";
}

std::vector<int> xid_table_ids() {
  std::vector<int> ids;
  for (const auto& row : table().at("rows"))
    for (const auto& x : row.at("xids")) ids.push_back(x.get<int>());
  return ids;
}

std::vector<XidEvent> parse_xid_events(std::string_view log) {
  static const std::regex re(R"(NVRM: Xid \(([^)]*)\): (\d+),? ?(.*))");
  std::vector<XidEvent> out;
  std::size_t start = 0;
  while (start < log.size()) {
    auto end = log.find('\n', start);
    if (end == std::string_view::npos) end = log.size();
    std::string line(log.substr(start, end - start));
    std::smatch m;
    if (std::regex_search(line, m, re)) out.push_back({std::stoi(m[2].str()), m[1].str(), m[3].str()});
    start = end + 1;
  }
  return out;
}

}  // namespace awsdt::health
