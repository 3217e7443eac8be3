// `awsdt results` (see results.hpp).
#include "commands/results.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/compare.hpp"
#include "analysis/plot.hpp"
#include "analysis/run_result.hpp"
#include "checkpoint_args.hpp"
#include "cluster/backend.hpp"
#include "jobdb.hpp"
#include "results/table.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace {

// A run named on the command line: an existing file, else an awsdt job number whose result file is read.
RunResult load(const std::string& run) {
  if (std::filesystem::exists(run)) return read_result(run);
  const JobRecord job = JobDb().find(run);
  std::string file = result_file_for(job.spec);
  if (file.empty()) file = job.spec.job_dir + "/result.json";
  if (!std::filesystem::exists(file))
    throw UsageError(fmt::format("job {} ({}) has no result file at {} (yet?)", run, job.state, file));
  RunResult r = read_result(file);
  r.source = fmt::format("job {} ({})", run, file);
  return r;
}

std::vector<RunResult> load_all(const std::vector<std::string>& runs, bool force) {
  std::vector<RunResult> out;
  for (const std::string& run : runs) out.push_back(load(run));
  if (!force)
    for (std::size_t i = 1; i < out.size(); ++i) require_comparable(out[0], out[i]);
  return out;
}

void show(const RunResult& r) {
  std::cout << fmt::format("{} | {} | started {} | {} rank(s)\n", r.source, r.benchmark, r.started_at, r.world_size);
  Table t{{"figure", "value"}, {}};
  for (const Metric& m : r.metrics) t.rows.push_back({m.name, fmt::format("{:.6g}", m.value)});
  for (const auto& [name, v] : r.versions) t.rows.push_back({"version: " + name, v});
  std::cout << format_table(t) << "config: " << r.config.dump() << "\n";
}

void setup_list_cmd(CLI::App& results) {
  struct Opts {
    std::string test_case, cluster, instance_type, state, since;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = results.add_subcommand("list", "recorded jobs that left a result file");
  cmd->add_option("--test-case", o->test_case, "only this test case");
  cmd->add_option("--cluster", o->cluster, "only this cluster kind")->check(CLI::IsMember(cluster_kinds()));
  cmd->add_option("--instance-type", o->instance_type, "only this instance type");
  std::vector<std::string> states{"RENDERED", "SUBMITTED"};
  for (auto s : {JobState::Pending, JobState::Running, JobState::Completed, JobState::Failed, JobState::Cancelled,
                 JobState::Preempted, JobState::Unknown})
    states.push_back(state_name(s));
  cmd->add_option("--state", o->state, "only jobs in this state (COMPLETED, FAILED, ...)")
      ->check(CLI::IsMember(states));
  // A date that is not one would compare as a string against every job and silently select none or all.
  cmd->add_option("--since", o->since, "only jobs submitted at or after this date (YYYY-MM-DD)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            unsigned y = 0, m = 0, d = 0;
            char tail = 0;
            if (v.size() != 10 || std::sscanf(v.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 ||
                !std::chrono::year_month_day(std::chrono::year(int(y)), std::chrono::month(m), std::chrono::day(d))
                     .ok())
              return "'" + v + "' is not a date YYYY-MM-DD";
            return "";
          },
          "YYYY-MM-DD"));
  cmd->callback([o] {
    Table t{{"JOB", "TEST CASE", "CLUSTER", "INSTANCE", "STATE", "SUBMITTED", "RESULT"}, {}};
    for (const JobRecord& j : JobDb().list(100000)) {
      const JobSpec& s = j.spec;
      std::string file = result_file_for(s);
      if (file.empty()) file = s.job_dir + "/result.json";
      if (!std::filesystem::exists(file)) continue;
      if ((!o->test_case.empty() && s.test_case != o->test_case) || (!o->cluster.empty() && s.cluster != o->cluster) ||
          (!o->instance_type.empty() && s.instance_type != o->instance_type) ||
          (!o->state.empty() && j.state != o->state) || (!o->since.empty() && j.submitted_at < o->since))
        continue;
      t.rows.push_back({std::to_string(j.id), s.test_case, s.cluster, s.instance_type.empty() ? "-" : s.instance_type,
                        j.state, j.submitted_at, file});
    }
    std::cout << format_table(t);
  });
}

}  // namespace

void setup_results(CLI::App& app, int& exit_status) {
  auto* results = app.add_subcommand("results", "compare, gate and draw runs (job numbers or result files)");
  results->require_subcommand(1);
  setup_list_cmd(*results);

  auto show_runs = std::make_shared<std::vector<std::string>>();
  auto* show_cmd = results->add_subcommand("show", "a run's headline figures, versions and configuration");
  show_cmd->add_option("run", *show_runs, "job number or result file")->required();
  show_cmd->callback([show_runs] {
    for (const std::string& run : *show_runs) show(load(run));
  });

  struct Opts {
    std::vector<std::string> runs;
    bool force = false, csv = false;
    std::string output, max_regression = "5%";
    std::vector<std::string> metric;
  };
  auto o = std::make_shared<Opts>();
  auto* compare = results->add_subcommand("compare", "runs side by side, with each one's ratio to the first");
  compare->add_option("runs", o->runs, "two or more job numbers or result files")->required()->expected(2, -1);
  compare->add_flag("--force", o->force, "compare runs that measured different things");
  compare->add_flag("--csv", o->csv, "CSV instead of the aligned table");
  compare->callback([o] {
    const Table t = compare_table(load_all(o->runs, o->force));
    std::cout << (o->csv ? format_csv(t) : format_table(t));
  });

  auto* gate_cmd = results->add_subcommand("gate", "exit 1 when the candidate's headline figures regressed");
  gate_cmd->add_option("baseline", o->runs, "baseline and candidate: job numbers or result files")
      ->required()
      ->expected(2);
  gate_cmd->add_option("--max-regression", o->max_regression, "worst regression allowed (default 5%)");
  gate_cmd->add_option("--metric", o->metric, "NAME=THRESHOLD for one figure (e.g. 'median tokens/s=2%')");
  gate_cmd->add_flag("--force", o->force, "gate runs that measured different things");
  gate_cmd->callback([o, &exit_status] {
    const auto runs = load_all(o->runs, o->force);
    std::map<std::string, double> per_metric;
    for (const std::string& m : o->metric) {
      const auto eq = m.rfind('=');
      if (eq == std::string::npos) throw UsageError(fmt::format("--metric '{}' is not NAME=THRESHOLD", m));
      per_metric[m.substr(0, eq)] = parse_fraction(m.substr(eq + 1), "--metric " + m.substr(0, eq));
    }
    const auto regressions = gate(runs[0], runs[1], parse_fraction(o->max_regression, "--max-regression"), per_metric);
    if (regressions.empty()) {
      std::cout << fmt::format("gate: passed ({} against {})\n", runs[1].source, runs[0].source);
      return;
    }
    Table t{{"figure", "baseline", "candidate", "worse by", "allowed"}, {}};
    for (const Regression& r : regressions)
      t.rows.push_back({r.metric, fmt::format("{:.6g}", r.baseline), fmt::format("{:.6g}", r.candidate),
                        fmt::format("{:.1f}%", 100 * r.regression), fmt::format("{:.1f}%", 100 * r.threshold)});
    std::cout << "gate: FAILED: " << regressions.size() << " figure(s) regressed\n" << format_table(t);
    exit_status = 1;
  });

  auto* plot = results->add_subcommand("plot", "draw runs with gnuplot: -o FILE.svg, FILE.png or FILE.html");
  plot->add_option("runs", o->runs, "job numbers or result files")->required();
  plot->add_option("-o,--output", o->output, "the picture to write")->required();
  plot->add_flag("--force", o->force, "draw runs that measured different things together");
  plot->callback([o] {
    plot_runs(load_all(o->runs, o->force), o->output);
    std::cout << o->output << "\n";
  });

  auto* report = results->add_subcommand("report", "one self-contained HTML page: runs, versions, plot, comparison");
  report->add_option("runs", o->runs, "job numbers or result files")->required();
  report->add_option("-o,--output", o->output, "the HTML file to write")->required();
  report->add_flag("--force", o->force, "report runs that measured different things together");
  report->callback([o] {
    write_report(load_all(o->runs, o->force), o->output);
    std::cout << o->output << "\n";
  });
}

}  // namespace awsdt::launcher
