// `awsdt versions` (see versions.hpp).
#include "commands/versions.hpp"

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "results/table.hpp"
#include "results/versions.hpp"

namespace awsdt::launcher {

void setup_versions(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("versions", "show compile- and run-time versions of CUDA, NCCL, MPI, libfabric, EFA");
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->callback([json] {
    auto versions = collect_versions();
    if (*json) {
      std::cout << versions_json(versions).dump(2) << "\n";
      return;
    }
    Table t{{"COMPONENT", "COMPILED", "RUNTIME", "DETAIL"}, {}};
    for (const auto& v : versions) t.rows.push_back({v.component, v.compiled, v.runtime, v.detail});
    std::cout << format_table(t);
  });
}

}  // namespace awsdt::launcher
