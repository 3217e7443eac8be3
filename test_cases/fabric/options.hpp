// awsdt-fabric's command line: the tests, the size sweep, the provider and device, and the shared output flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/options.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::fabric {

enum class TestKind { pingpong, bw, bibw, rma_write, rma_read };
std::string_view test_name(TestKind kind);
/// Every test, in the order `all` runs them.
const std::vector<TestKind>& all_tests();

struct Options {
  std::vector<TestKind> tests{TestKind::pingpong, TestKind::bw};
  std::uint64_t min_bytes = 8;
  std::uint64_t max_bytes = 1ull << 20;
  std::uint64_t step_factor = 2;
  std::uint64_t step_bytes = 1ull << 20;
  TimingOptions timing{1000, 100, 1, false, 60};
  int window = 64;                           ///< bw, bibw, rma_*: messages in flight per iteration
  std::string provider;                      ///< -p: "" = efa when present, else shm in one host, tcp across
  std::string device;                        ///< -d: a domain name ("" = the provider's first)
  bool all_devices = false;                  ///< run every domain of the provider in turn
  std::vector<std::string> messages{"msg"};  ///< msg and/or tagged
  std::string hmem = "system";               ///< system | cuda
  bool check = false;                        ///< -c: verify every received byte
  bool loopback = false;                     ///< both ends in this process
  double min_bw = -1;                        ///< Gbit/s at the largest size of each bandwidth test; -1 = unchecked
  bool corrupt_for_test = false;             ///< hidden: spoil one received byte before each check
  CommonOptions common;
};

void add_options(CLI::App& app, Options& options);
/// Cross-flag checks after parsing; throws UsageError.
void validate(const Options& options);

}  // namespace awsdt::fabric
