// dcgm-l2 / dcgm-l4: NVIDIA DCGM's diagnostics (`dcgmi diag -r N -j`) when dcgmi is installed, each failed test
// mapped to a severity as the seed's parser maps DCGM's warning levels (3 ISOLATE, 2 RESET, 1 MONITOR).
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include <fmt/format.h>

#include "checks/checks.hpp"
#include "checks/dcgm_json.hpp"

namespace awsdt::health {
namespace {

bool on_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  std::string path = getenv("PATH") ? getenv("PATH") : "";
  for (std::size_t start = 0; start <= path.size();) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    if (::access((path.substr(start, end - start) + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Runs `dcgmi diag -r level -j` and returns its stdout and exit status. The runner's timeout ends it with its
// process group.
std::pair<std::string, int> run_dcgmi(const std::string& dcgmi, int level) {
  std::string cmd = fmt::format("'{}' diag -r {} -j 2>/dev/null", dcgmi, level);
  std::string text;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {"", -1};
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
  int raw = ::pclose(p);
  return {text, WIFEXITED(raw) ? WEXITSTATUS(raw) : -1};
}

void check_dcgm(const Context& ctx, Outcome& out, int level) {
  if (!on_path(ctx.settings.dcgmi)) {
    out.skip(fmt::format("{} not installed", ctx.settings.dcgmi));
    return;
  }
  auto [text, status] = run_dcgmi(ctx.settings.dcgmi, level);
  out.measured()["exit_status"] = status;
  auto findings = parse_dcgm_diag(text);
  if (!findings) {
    out.fail("unparsable", fmt::format("dcgmi diag -r {} -j printed no diagnostic JSON (exit {})", level, status));
    return;
  }
  out.measured()["tests"] = findings->tests;
  for (const auto& f : findings->failed)
    out.fail(fmt::format("level{}", f.level), fmt::format("DCGM {}: {} ({})", f.test, f.status, f.detail));
}

}  // namespace

void check_dcgm_l2(const Context& ctx, Outcome& out) { check_dcgm(ctx, out, 2); }
void check_dcgm_l4(const Context& ctx, Outcome& out) { check_dcgm(ctx, out, 4); }

}  // namespace awsdt::health
