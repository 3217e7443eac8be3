// Test case manifests (test_cases/<name>/test_case.json, or any under awsdt --test-cases DIR). Bad manifests
// must be refused with a UsageError; accepted ones must have what the launcher relies on.
#include "fuzz_support.hpp"
#include "manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace awsdt;
  const auto path = fuzz::write_input("case/test_case.json", data, size);
  fuzz::accepts([&] {
    const auto m = launcher::load_manifest(path);
    if (m.name.empty() || m.executable.empty() || m.local_ranks < 1) fuzz::finding("an unusable manifest accepted");
  });
  return 0;
}
