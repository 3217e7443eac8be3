// Shared option groups (see options.hpp).
#include "bench/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/sizes.hpp"
#include "util/fs.hpp"

namespace awsdt {

CLI::Validator finite_number(double min, bool strict) {
  const std::string need = fmt::format("a finite number {} {:g}", strict ? ">" : ">=", min);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || v < min || (strict && v == min))
          return fmt::format("'{}' is not {}", text, need);
        return "";
      },
      need);
}

CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
          return fmt::format("'{}' is not a whole number from 0 to {}", text,
                             std::numeric_limits<std::uint64_t>::max());
        return "";
      },
      "UINT");
}

void add_timing_options(CLI::App& app, TimingOptions& o) {
  app.add_option("-n,--iters", o.iters, "timed iterations per measurement")->check(CLI::PositiveNumber);
  app.add_option("-w,--warmup_iters", o.warmup, "warm-up iterations per measurement")->check(CLI::NonNegativeNumber);
  app.add_option("-a,--average", o.average, "time reported: 0 rank 0, 1 mean, 2 min, 3 max over ranks")
      ->check(CLI::Range(0, 3));
  app.add_option("-z,--blocking", o.blocking, "wait for completion after every iteration (0/1)")
      ->check(CLI::IsMember({"0", "1"}));
  app.add_option("-T,--timeout", o.timeout_s, "seconds before a stuck operation aborts the job (0: never)")
      ->check(finite_number(0));
}

void add_bytes_option(CLI::App& app, const std::string& flags, std::uint64_t& target, const std::string& what,
                      const std::string& help) {
  // Errors name the flag as typed most often: its long name.
  const auto comma = flags.find(",--");
  const std::string name = comma != std::string::npos ? flags.substr(comma + 1) : what;
  app.add_option_function<std::string>(
      flags, [&target, name](const std::string& v) { target = parse_bytes(v, name); }, help);
}

void add_mpi_wait_option(CLI::App& app, std::string& mpi_wait) {
  app.add_option("--mpi-wait", mpi_wait,
                 "MPI: poll (nonblocking collectives tested with short sleeps: the communication thread leaves the "
                 "core to the compute threads it shares it with) or spin (blocking collectives, lowest latency when "
                 "communication has cores of its own)")
      ->check(CLI::IsMember({"poll", "spin"}))
      ->capture_default_str();
}

void add_common_options(CLI::App& app, CommonOptions& o, const std::string& json_flag) {
  auto* comm = app.add_option_group("Communication");
  comm->add_option("--backend", o.comm.backend, "auto | mpi | nccl (auto: nccl when a GPU is visible, else mpi)")
      ->check(CLI::IsMember({"auto", "mpi", "nccl"}));
  comm->add_option("--bootstrap", o.comm.bootstrap,
                   "auto | mpi | env (env: MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE/LOCAL_RANK as torchrun sets)")
      ->check(CLI::IsMember({"auto", "mpi", "env"}));
  o.json_flag.clear();  // "-J,--output,--output_file" -> "--output/--output_file"
  for (std::size_t a = 0, b; a <= json_flag.size(); a = b + 1) {
    b = std::min(json_flag.find(',', a), json_flag.size());
    if (json_flag.compare(a, 2, "--") == 0)
      o.json_flag += (o.json_flag.empty() ? "" : "/") + json_flag.substr(a, b - a);
  }
  auto* out = app.add_option_group("Output");
  out->add_option(json_flag, o.json_output, "write the JSON result document to this file");
  out->add_option("--csv", o.csv_output, "write one CSV row per measurement to this file");
  out->add_flag("--json", o.json_stdout, "print the JSON result document on stdout instead of the table");
  out->add_flag("-v,--verbose", o.verbose, "debug logging on every rank");
}

void check_output_files(const CommonOptions& o, int rank) {
  if (rank != 0) return;
  if (!o.json_output.empty()) check_writable_file(o.json_output, o.json_flag);
  if (!o.csv_output.empty()) check_writable_file(o.csv_output, "--csv");
}

}  // namespace awsdt
