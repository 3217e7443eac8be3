// `awsdt run` (see run.hpp).
#include "commands/run.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/plot.hpp"
#include "analysis/run_result.hpp"
#include "checkpoint_args.hpp"
#include "commands/job_flags.hpp"
#include "commands/preflight.hpp"
#include "commands/render.hpp"
#include "commands/wait.hpp"
#include "jobdb.hpp"
#include "process.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {

// --plot: the ended job's result drawn beside it; a job that left no result says so instead.
void plot_job_result(const JobSpec& spec) {
  std::string file = result_file_for(spec);
  if (file.empty()) file = spec.job_dir + "/result.json";
  if (!fs::exists(file)) {
    std::cerr << fmt::format("awsdt: --plot: the job left no result file ({})\n", file);
    return;
  }
  const std::string picture = (fs::path(file).parent_path() / "result.svg").string();
  plot_runs({read_result(file)}, picture);
  std::cerr << fmt::format("awsdt: plotted {}\n", picture);
}

// A job's own directory is a new one: a directory of the same name was left by another job database (another
// login node, a state directory reset) and holds that job's checkpoints, which this job would resume from.
std::string fresh_job_dir(const std::string& root, long id, const std::string& name) {
  auto dir = fmt::format("{}/{}-{}", root, id, name);
  for (int n = 2; fs::exists(dir); ++n) dir = fmt::format("{}/{}-{}.{}", root, id, name, n);
  return dir;
}

}  // namespace

void setup_run(CLI::App& app, int& exit_status) {
  struct Opts {
    JobCommand job;
    bool dry_run = false, wait = false, follow = false, detach = false, plot = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("run", "render a test case for a cluster, submit it and record it");
  add_job_flags(cmd, o->job);
  cmd->add_flag("--dry-run", o->dry_run, "print the artifacts and the exact submit commands; submit nothing");
  cmd->add_flag("--wait", o->wait, "block until the job ends; exit with its exit status");
  cmd->add_flag("--follow", o->follow, "stream rank 0's log until the job ends (implies --wait; default on local)");
  cmd->add_flag("--detach", o->detach, "local: return once submitted instead of following the job");
  cmd->add_flag("--plot", o->plot,
                "when the job has ended (with --wait, or locally), draw its result beside it (result.svg)");
  cmd->callback([o, cmd, &exit_status] {
    refuse_stray_flags(*cmd, o->job);
    Manifest manifest;
    auto spec = resolve(o->job, &manifest);
    auto backend = make_backend(spec.cluster);
    auto templates = load_templates(o->job.templates_dir);
    if (o->dry_run) {
      if (spec.job_dir.empty()) spec.job_dir = default_job_root(spec) + "/DRY-RUN";
      add_output_args(spec, manifest);
      preflight(spec, manifest);
      auto artifacts = backend->render(spec, templates);
      for (const auto& [name, content] : artifacts.files)
        std::cout << "# ---- " << spec.job_dir << "/" << name << "\n" << content;
      std::cout << "# ---- submit with:\n";
      for (const auto& c : artifacts.submit_commands) std::cout << display_command(c) << "\n";
      exit_status = 0;
      return;
    }
    JobDb db;
    long id = db.add(spec);  // the job's number names its directory, which the rendered files mention
    bool own_dir = spec.job_dir.empty();
    if (own_dir) spec.job_dir = fresh_job_dir(default_job_root(spec), id, spec.name);
    std::string backend_id;
    try {
      add_output_args(spec, manifest);
      preflight(spec, manifest);
      db.update_spec(id, spec);
      auto artifacts = backend->render(spec, templates);
      write_artifacts(spec.job_dir, artifacts, spec, own_dir ? "job directory" : "--job-dir");
      backend_id = backend->submit(spec, artifacts, spec.job_dir);
    } catch (...) {
      // Nothing reached the scheduler: no job for `awsdt jobs` to show, and no directory of ours left behind.
      db.remove(id);
      std::error_code ec;
      if (own_dir) fs::remove_all(spec.job_dir, ec);
      throw;
    }
    db.set_backend_id(id, backend_id);
    std::cerr << fmt::format("awsdt: job {} submitted to {} as {} ({})\n", id, spec.cluster, backend_id, spec.job_dir);
    // A local run is watched from this terminal unless asked otherwise; schedulers return at once.
    bool follow = o->follow || (spec.cluster == "local" && !o->detach && !o->wait);
    if (!o->wait && !follow) {
      std::cout << id << "\n";
      exit_status = 0;
      return;
    }
    exit_status = wait_for_job(db, db.find(std::to_string(id)), follow);
    if (o->plot) plot_job_result(spec);
  });
}

}  // namespace awsdt::launcher
