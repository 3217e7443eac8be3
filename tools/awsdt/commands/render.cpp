// `awsdt render` (see render.hpp).
#include "commands/render.hpp"

#include <algorithm>
#include <iostream>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint_args.hpp"
#include "commands/job_flags.hpp"
#include "commands/render_service.hpp"
#include "process.hpp"
#include "render_data.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

TemplateSet load_templates(const std::string& dir) {
  return dir.empty() ? TemplateSet::embedded() : TemplateSet::from_directory(dir);
}

void write_artifacts(const fs::path& dir, const Artifacts& artifacts, const JobSpec& spec, const std::string& what) {
  // The highest directory this call creates: on a failure everything from it down is removed again.
  fs::path created;
  std::error_code ec;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) created = p;
  std::vector<fs::path> written;
  try {
    if (fs::create_directories(dir, ec); ec || !fs::is_directory(dir))
      throw UsageError(fmt::format("{} {}: cannot create the directory: {}", what, dir.string(),
                                   ec ? ec.message() : "a file is in the way"));
    auto write = [&](const fs::path& file, const std::string& content) {
      write_file_atomic(file.string(), content);
      written.push_back(file);
    };
    for (const auto& [name, content] : artifacts.files) write(dir / name, content);
    write(dir / "jobspec.json", nlohmann::json(spec).dump(2) + "\n");
  } catch (...) {
    // Nothing half-written: a job directory with some of its files would look like a job that can be run.
    for (const auto& file : written) fs::remove(file, ec);
    if (!created.empty()) fs::remove_all(created, ec);
    throw;
  }
}

void setup_render(CLI::App& app) {
  auto job = std::make_shared<JobCommand>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "render", "write a job's artifacts for a cluster, or a node service's install files; submit nothing");
  add_job_flags(cmd, *job);
  cmd->add_option("-o,--output-dir", *out, "where to write (default: ./awsdt-<test case>-<cluster>)");
  cmd->callback([job, out, cmd] {
    refuse_stray_flags(*cmd, *job);
    auto templates = load_templates(job->templates_dir);
    if (auto services = service_names(templates);
        std::find(services.begin(), services.end(), job->test_case) != services.end()) {
      auto dir = out->empty() ? std::nullopt : std::optional<fs::path>(*out);
      for (const auto& path : render_service(*job, templates, dir)) std::cout << path.string() << "\n";
      return;
    }
    Manifest manifest;
    auto spec = resolve(*job, &manifest);
    fs::path dir = out->empty() ? fs::path("awsdt-" + spec.test_case + "-" + spec.cluster) : fs::path(*out);
    // Where the job will find its files on the cluster: --job-dir when given, else where they are written.
    if (!job->flags.job_dir) spec.job_dir = fs::absolute(dir).lexically_normal().string();
    add_output_args(spec, manifest);  // rendered files are what `run` would submit: result file and resume included
    auto artifacts = make_backend(spec.cluster)->render(spec, templates);
    write_artifacts(dir, artifacts, spec, "--output-dir");
    for (const auto& [name, content] : artifacts.files) std::cout << (dir / name).string() << "\n";
    // What each rank runs: the test case's defaults with the user's flags merged in, and what awsdt added.
    std::cout << "command: " << display_command(rank_command(spec)) << "\n";
  });
}

}  // namespace awsdt::launcher
