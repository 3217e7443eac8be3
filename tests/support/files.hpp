// Test support: per-process temporary paths and JSON files read back.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

namespace awsdt::testing {

/// A path in the temporary directory, unique to this process: <tmp>/awsdt_<prefix>_<pid>_<name>.
inline std::string temp_path(const std::string& prefix, const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("awsdt_" + prefix + "_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

/// The whole file at `path` (empty when it cannot be read).
inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The JSON document in `path` (throws nlohmann::json::parse_error when it is not JSON).
inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace awsdt::testing
