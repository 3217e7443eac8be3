// Job templates given by awsdt render/run --templates DIR: a Slurm batch script template and a partial it may
// include ({{>part}}), each any text (split at the input's first NUL byte), rendered with a real job's values.
// A bad template must be refused with a UsageError naming it.
#include "fuzz_support.hpp"
#include "launcher_fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace awsdt;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto split = std::min(input.find('\0'), input.size());
  const auto dir = fuzz::scratch_dir() / "templates";
  fuzz::write_bytes(dir / "slurm/sbatch.sh.mustache", input.substr(0, split));
  fuzz::write_bytes(dir / "slurm/part.mustache", input.substr(std::min(split + 1, input.size())));
  static const auto flags = fuzz::slurm_flags();
  fuzz::accepts([&] { fuzz::render(flags, launcher::TemplateSet::from_directory(dir)); });
  return 0;
}
