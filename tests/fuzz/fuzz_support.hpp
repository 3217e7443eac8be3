// What every fuzz target shares: the parsers read files, as users hand them over, so an input is written to a
// scratch file first; and bad input may only be refused with a UsageError (one line naming the file or value,
// exit 2). Any other exception escaping a parser is a finding: the target aborts with it, and libFuzzer keeps
// the input as a crash.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace awsdt::fuzz {

/// This process's scratch directory (in memory when /dev/shm exists): created once, reused by every input.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    auto d = base / ("awsdt-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes bytes to `path` (its directories created), replacing what was there.
inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Writes the input to scratch_dir()/name and returns its path.
inline std::string write_input(const std::string& name, const std::uint8_t* data, std::size_t size) {
  auto path = scratch_dir() / name;
  write_bytes(path, {reinterpret_cast<const char*>(data), size});
  return path.string();
}

/// A finding: prints it and aborts, so that libFuzzer records the input.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "awsdt fuzz finding: %s\n", what.c_str());
  std::abort();
}

/// Runs f; returns true when it finished, false when it refused the input with a UsageError. Any other exception
/// is a finding.
template <class F>
bool accepts(F&& f) {
  try {
    f();
    return true;
  } catch (const UsageError&) {
    return false;
  } catch (const std::exception& e) {
    finding(std::string("not a UsageError: ") + e.what());
  }
}

}  // namespace awsdt::fuzz
