// `awsdt list` (see list.hpp).
#include "commands/list.hpp"

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "manifest.hpp"
#include "results/table.hpp"

namespace awsdt::launcher {

void setup_list(CLI::App& app) {
  struct Opts {
    std::string dir;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("list", "list the test cases (benchmarks) awsdt can run");
  cmd->add_option("--test-cases", o->dir,
                  "directory holding <name>/test_case.json (default: test_cases/ and validation/ of the source tree)");
  cmd->add_flag("--json", o->json, "machine-readable output");
  cmd->callback([o] {
    auto manifests = find_manifests(test_cases_dir(o->dir));
    if (o->json) {
      auto j = nlohmann::json::array();
      for (const auto& m : manifests)
        j.push_back({{"name", m.name}, {"executable", m.executable}, {"description", m.description}});
      std::cout << j.dump(2) << "\n";
      return;
    }
    Table t{{"NAME", "EXECUTABLE", "DESCRIPTION"}, {}};
    for (const auto& m : manifests) t.rows.push_back({m.name, m.executable, m.description});
    std::cout << format_table(t);
  });
}

}  // namespace awsdt::launcher
