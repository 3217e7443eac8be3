// The instance catalog (architectures/instances.json, or $AWSDT_HOME/architectures) and its EFA environment
// presets (env/efa.json, env/rdma.json). The first byte picks which of the three files the rest replaces; the
// other two are the committed ones. Bad files must be refused with a UsageError.
#include "awsdt/config.hpp"
#include "catalog.hpp"
#include "fuzz_support.hpp"
#include "util/fs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace awsdt;
  if (size < 1) return 0;
  static const char* const files[] = {"instances.json", "env/efa.json", "env/rdma.json"};
  const auto dir = fuzz::scratch_dir() / "architectures";
  for (const char* f : files)
    fuzz::write_bytes(dir / f, read_file(std::string(AWSDT_SOURCE_DIR) + "/architectures/" + f));
  fuzz::write_bytes(dir / files[data[0] % 3], {reinterpret_cast<const char*>(data + 1), size - 1});
  fuzz::accepts([&] {
    const auto catalog = launcher::Catalog::load(dir);
    for (const char* name : {"p5.48xlarge", "ml.p4d.24xlarge", "g5.xlarge"})
      if (auto type = catalog.find(name)) catalog.environment_for(*type);
  });
  return 0;
}
