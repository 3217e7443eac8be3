// Command line of awsdt-fabric (see options.hpp).
#include "options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/sizes.hpp"
#include "util/error.hpp"

namespace awsdt::fabric {

const std::vector<TestKind>& all_tests() {
  static const std::vector<TestKind> kAll{TestKind::pingpong, TestKind::bw, TestKind::bibw, TestKind::rma_write,
                                          TestKind::rma_read};
  return kAll;
}

std::string_view test_name(TestKind kind) {
  switch (kind) {
    case TestKind::pingpong: return "pingpong";
    case TestKind::bw: return "bw";
    case TestKind::bibw: return "bibw";
    case TestKind::rma_write: return "rma_write";
    case TestKind::rma_read: return "rma_read";
  }
  return "?";
}

namespace {

std::vector<TestKind> parse_tests(const std::vector<std::string>& names) {
  std::vector<TestKind> out;
  for (const auto& n : names) {
    if (n == "all") return all_tests();
    bool found = false;
    for (auto k : all_tests())
      if (test_name(k) == n) out.push_back(k), found = true;
    if (!found)
      throw UsageError(fmt::format("unknown test '{}'; expected pingpong, bw, bibw, rma_write, rma_read or all", n));
  }
  return out;
}

}  // namespace

void add_options(CLI::App& app, Options& o) {
  // The last value of a repeated flag wins, so that awsdt run can put the test case's defaults first.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option_function<std::vector<std::string>>(
         "test", [&o](const std::vector<std::string>& v) { o.tests = parse_tests(v); },
         "pingpong, bw, bibw, rma_write, rma_read, or all (default: pingpong bw)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  add_bytes_option(app, "-b,--minbytes", o.min_bytes, "minbytes", "smallest message (e.g. 8, 64K, 1M); default 8");
  add_bytes_option(app, "-e,--maxbytes", o.max_bytes, "maxbytes", "largest message; default 1M");
  add_bytes_option(app, "-i,--stepbytes", o.step_bytes, "stepbytes", "size increment when -f is 1; default 1M");
  app.add_option("-f,--stepfactor", o.step_factor, "size multiplier between steps (1: add -i instead); default 2")
      ->check(unsigned_integer());
  add_timing_options(app, o.timing);
  app.add_option("-W,--window", o.window, "messages in flight per iteration of bw, bibw and rma_* (default 64)")
      ->check(CLI::Range(1, 4096));
  app.add_option("-p,--provider", o.provider,
                 "libfabric provider (efa, shm, tcp, ...); default: efa when present, else shm when both ranks "
                 "share a host, else tcp");
  app.add_option("-d,--device", o.device, "the provider's domain (an EFA device such as rdmap16s27-rdm, or lo)");
  app.add_flag("--all-devices", o.all_devices, "run every domain of the provider in turn and report each");
  app.add_option("-m,--message", o.messages, "msg (fi_send/fi_recv), tagged (fi_tsend/fi_trecv), or both")
      ->check(CLI::IsMember({"msg", "tagged"}))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->delimiter(',');
  app.add_option("--hmem", o.hmem, "buffer memory: system, or cuda (GPU memory through FI_HMEM)")
      ->check(CLI::IsMember({"system", "cuda"}));
  app.add_flag("-c,--check", o.check, "verify every received byte (after the timed iterations of each size)");
  app.add_flag("--loopback", o.loopback, "run both ends in this process, on one device (no launcher needed)");
  app.add_option("--min-bw", o.min_bw,
                 "exit 1 when a bandwidth test's bandwidth at its largest size is below this (Gbit/s)")
      ->check(finite_number(0));
  add_common_options(app, o.common, "-J,--output");
  app.add_flag("--corrupt-for-test", o.corrupt_for_test)->group("");  // proves -c counts a spoiled byte
}

void validate(const Options& o) {
  check_size_sweep(o.min_bytes, o.max_bytes, o.step_factor, o.step_bytes);
  if (o.max_bytes > (1ull << 30))
    throw UsageError(fmt::format("-e/--maxbytes {} is above 1G, the largest message awsdt-fabric sends", o.max_bytes));
  if (o.all_devices && !o.device.empty())
    throw UsageError(fmt::format("-d/--device {} and --all-devices pick devices twice; give one", o.device));
  // Shared flags that have no meaning for a two-sided test: side 0 alone times, and every iteration waits.
  if (o.timing.average != 1)
    throw UsageError(fmt::format("-a/--average {}: only side 0 (rank 0) times awsdt-fabric's tests; leave it at 1",
                                 o.timing.average));
  if (o.timing.blocking)
    throw UsageError("-z/--blocking 1: every awsdt-fabric iteration already waits for its completions");
  if (o.common.comm.backend != "auto")
    throw UsageError(fmt::format("--backend {}: awsdt-fabric talks to libfabric itself; pick it with -p/--provider",
                                 o.common.comm.backend));
  if (o.tests.empty()) throw UsageError("no test given; expected pingpong, bw, bibw, rma_write, rma_read or all");
}

}  // namespace awsdt::fabric
