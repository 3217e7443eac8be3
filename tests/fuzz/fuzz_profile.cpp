// Profiles (~/.config/awsdt/config.yaml, awsdt run --profile NAME): the YAML, each field's type, and then the
// job they describe, validated and rendered for its cluster. A bad profile must be refused with a UsageError.
#include <cstdlib>

#include "fuzz_support.hpp"
#include "launcher_fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace awsdt;
  static const bool config_home = ::setenv("XDG_CONFIG_HOME", fuzz::scratch_dir().c_str(), 1) == 0;
  (void)config_home;
  fuzz::write_input("awsdt/config.yaml", data, size);
  fuzz::accepts([&] {
    launcher::JobFlags flags;
    flags.profile = "p";
    launcher::apply_profile(flags);
    // Without an instance type a Slurm job would ask sinfo; a profile that names none gets p5's.
    if (!flags.instance_type) flags.instance_type = "p5.48xlarge";
    fuzz::render(flags, launcher::TemplateSet::embedded());
  });
  return 0;
}
