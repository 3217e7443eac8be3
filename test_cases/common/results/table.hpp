// Plain tables and their printers: aligned text for people, CSV for spreadsheets.
#pragma once

#include <string>
#include <vector>

namespace awsdt {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

/// Columns left-aligned to their widest cell, separated by two spaces, with a header line.
std::string format_table(const Table& table);
/// RFC 4180 CSV (cells with a comma, quote or newline are quoted, quotes doubled).
std::string format_csv(const Table& table);

}  // namespace awsdt
