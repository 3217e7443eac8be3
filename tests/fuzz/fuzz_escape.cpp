// --env, --mount, --extra and benchmark arguments through the launcher's escapers into a Slurm batch script.
// The property: run by bash with a stub srun, the script hands the value over byte for byte (srun's arguments,
// the exported variable, the #SBATCH line), with everything else as in a script rendered from a plain value;
// or the value is refused with a UsageError. The first byte picks the flag; the rest is the value (values with
// NUL cannot be typed and are skipped).
#include <cstdlib>
#include <vector>

#include "fuzz_support.hpp"
#include "launcher_fixture.hpp"
#include "util/fs.hpp"

namespace {

using namespace awsdt;
enum Flag { kEnv, kMount, kExtra, kArg, kFlags };

launcher::JobFlags flags_with(Flag flag, const std::string& value) {
  auto f = fuzz::slurm_flags();
  f.container = "123456789012.dkr.ecr.us-east-1.amazonaws.com/awsdt:1";  // pyxis: srun gets --container-mounts
  f.args = {"--fuzz-value", flag == kArg ? value : "x"};
  f.env = {"FUZZ_VALUE=" + (flag == kEnv ? value : "x")};
  f.mounts = {flag == kMount ? value : "/a:/b"};
  if (flag == kExtra) f.extra = {value};
  return f;
}

struct Received {
  std::vector<std::string> args;  ///< srun's arguments
  std::string env;                ///< $FUZZ_VALUE as srun saw it
  std::string script;             ///< the rendered script
};

// Renders, runs the script with bash and a stub srun, and returns what srun received.
Received run(const launcher::JobFlags& flags) {
  static const auto dir = fuzz::scratch_dir() / "escape";
  static const bool stub = [] {
    fuzz::write_bytes(dir / "bin/srun",
                      "#!/bin/bash\nprintf '%s\\0' \"$@\" >\"$FUZZ_OUT/args\"\n"
                      "printf '%s' \"$FUZZ_VALUE\" >\"$FUZZ_OUT/env\"\n");
    std::filesystem::permissions(dir / "bin/srun", std::filesystem::perms::owner_all);
    return true;
  }();
  (void)stub;
  Received r;
  r.script = fuzz::render(flags, launcher::TemplateSet::embedded()).files.at(0).second;
  fuzz::write_bytes(dir / "job.sbatch", r.script);
  std::filesystem::remove(dir / "args");
  const auto cmd = "env -i PATH=" + (dir / "bin").string() + ":/usr/bin:/bin FUZZ_OUT=" + dir.string() + " bash " +
                   (dir / "job.sbatch").string() + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) fuzz::finding("the rendered script failed under bash:\n" + r.script);
  const auto args = read_file((dir / "args").string());
  for (std::size_t p = 0, q; (q = args.find('\0', p)) != std::string::npos; p = q + 1)
    r.args.push_back(args.substr(p, q - p));
  r.env = read_file((dir / "env").string());
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto flag = static_cast<Flag>(data[0] % kFlags);
  const std::string value(reinterpret_cast<const char*>(data + 1), size - 1);
  if (value.find('\0') != std::string::npos) return 0;
  // A benchmark argument that starts with '-' is an option, which merge_args merges with the test case's
  // defaults by design: that is not escaping, so only values are fuzzed there.
  if (flag == kArg && value.starts_with('-')) return 0;
  static const Received plain = run(flags_with(kArg, "x"));
  fuzz::accepts([&] {
    launcher::JobFlags flags = flags_with(flag, value);
    const Received got = run(flags);
    auto want = plain.args;
    for (auto& a : want) {
      if (flag == kArg && a == "x") a = value;
      if (flag == kMount && a.starts_with("--container-mounts=/a:/b")) {
        // The job directory is mounted after the user's mounts unless one already shows it at its own path.
        const auto with_job_dir =
            "--container-mounts=" + value + a.substr(std::string("--container-mounts=/a:/b").size());
        a = got.args.size() == want.size() && got.args[&a - want.data()] == "--container-mounts=" + value
                ? "--container-mounts=" + value
                : with_job_dir;
      }
    }
    if (got.args != want) fuzz::finding("srun's arguments differ from the plain render's:\n" + got.script);
    if (got.env != (flag == kEnv ? value : "x")) fuzz::finding("$FUZZ_VALUE differs:\n" + got.script);
    if (flag == kExtra && got.script.find("\n#SBATCH " + value + "\n") == std::string::npos)
      fuzz::finding("no #SBATCH line with the value:\n" + got.script);
  });
  return 0;
}
