// Table printers (see table.hpp).
#include "results/table.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace awsdt {

std::string format_table(const Table& t) {
  std::vector<std::size_t> width(t.columns.size());
  for (std::size_t c = 0; c < t.columns.size(); ++c) width[c] = t.columns[c].size();
  for (const auto& row : t.rows)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < width.size(); ++c)
      out += fmt::format("{}{:<{}}", c ? "  " : "", c < cells.size() ? cells[c] : "", width[c]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  line(t.columns);
  for (const auto& row : t.rows) line(row);
  return out;
}

std::string format_csv(const Table& t) {
  auto cell = [](const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) out += (c ? "," : "") + cell(cells[c]);
    out += "\r\n";
  };
  line(t.columns);
  for (const auto& row : t.rows) line(row);
  return out;
}

}  // namespace awsdt
