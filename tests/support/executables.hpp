// Test support: the path of an executable of this build (awsdt, awsdt-fsdp, ... in bin/; test helpers in
// tests/). A test names the ones it runs in awsdt_add_test(... EXECUTABLES ...), which builds them first.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace awsdt::testing {

inline std::string built_executable(std::string_view name) {
  for (const char* dir : {"bin", "tests"}) {
    const std::filesystem::path path = std::filesystem::path(AWSDT_BUILD_DIR) / dir / name;
    if (std::filesystem::exists(path)) return path.string();
  }
  throw std::runtime_error("executable '" + std::string(name) +
                           "' is not built in " AWSDT_BUILD_DIR
                           " (name it in the test's awsdt_add_test(... EXECUTABLES ...))");
}

}  // namespace awsdt::testing
