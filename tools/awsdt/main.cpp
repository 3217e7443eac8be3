// awsdt: the launcher. Subcommands live in commands/, one file each; main only wires them up.
#include <CLI/CLI.hpp>

#include "awsdt/config.hpp"
#include "bench/guard.hpp"
#include "commands/batch_entry.hpp"
#include "commands/jobs.hpp"
#include "commands/list.hpp"
#include "commands/render.hpp"
#include "commands/results.hpp"
#include "commands/run.hpp"
#include "commands/versions.hpp"

int main(int argc, char** argv) {
  return awsdt::guarded_main([&] {
    CLI::App app{"awsdt: distributed-training benchmarks and launcher for AWS GPU clusters"};
    app.set_version_flag("--version", std::string("awsdt ") + AWSDT_VERSION + " (git " + AWSDT_GIT_SHA + ")");
    app.require_subcommand(1);
    int exit_status = 0;
    using namespace awsdt::launcher;
    setup_list(app);
    setup_versions(app);
    setup_render(app);
    setup_run(app, exit_status);
    setup_status(app);
    setup_logs(app);
    setup_cancel(app);
    setup_jobs(app);
    setup_results(app, exit_status);
    setup_batch_entry(app, exit_status);
    if (auto rc = awsdt::parse_command_line(app, argc, argv)) return *rc;
    return exit_status;
  });
}
