// Job-tracking subcommands (see jobs.hpp).
#include "commands/jobs.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cluster/backend.hpp"
#include "commands/wait.hpp"
#include "jobdb.hpp"
#include "results/table.hpp"

namespace awsdt::launcher {

namespace {
Table job_table(const std::vector<JobRecord>& jobs) {
  Table t{{"JOB", "SCHEDULER_ID", "STATE", "EXIT", "CLUSTER", "TEST_CASE", "NODES", "SUBMITTED", "RESULT"}, {}};
  for (const auto& j : jobs) {
    auto result = j.spec.job_dir + "/result.json";
    t.rows.push_back({std::to_string(j.id), j.backend_id, j.state, j.exit_code < 0 ? "-" : std::to_string(j.exit_code),
                      j.spec.cluster, j.spec.test_case, std::to_string(j.spec.nodes), j.submitted_at,
                      std::filesystem::exists(result) ? result : "-"});
  }
  return t;
}

// The table, then one line per preempted job saying what its state means and how to resume it: PREEMPTED is
// the only state that asks the user to do something.
void print_jobs(const std::vector<JobRecord>& jobs) {
  std::cout << format_table(job_table(jobs));
  for (const auto& j : jobs)
    if (j.state == state_name(JobState::Preempted))
      std::cout << fmt::format("job {}: PREEMPTED = {} (awsdt run {} ... --job-dir {})\n", j.id, preempted_detail(),
                               j.spec.test_case, j.spec.job_dir);
}
}  // namespace

void setup_status(CLI::App& app) {
  auto job = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("status", "state of a job, or of every job not yet finished");
  cmd->add_option("job", *job, "awsdt job number or scheduler id");
  cmd->callback([job] {
    JobDb db;
    std::vector<JobRecord> jobs;
    if (!job->empty())
      jobs.push_back(db.find(*job));
    else
      for (auto& j : db.list(200))
        if (!is_terminal_state(j.state)) jobs.push_back(j);
    print_jobs(refresh(db, jobs));
  });
}

void setup_jobs(CLI::App& app) {
  auto limit = std::make_shared<int>(50);
  auto* cmd = app.add_subcommand("jobs", "history of submitted jobs, newest first");
  cmd->add_option("-n,--limit", *limit, "how many")->check(CLI::PositiveNumber);
  cmd->callback([limit] {
    JobDb db;
    print_jobs(refresh(db, db.list(*limit)));
  });
}

void setup_logs(CLI::App& app) {
  struct Opts {
    std::string job;
    bool follow = false;
    int rank = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("logs", "a job's output (rank 0 unless --rank)");
  cmd->add_option("job", o->job, "awsdt job number or scheduler id")->required();
  cmd->add_flag("-f,--follow", o->follow, "keep printing until the job ends");
  cmd->add_option("--rank", o->rank, "rank (node, on EKS and Batch) whose log to show")->check(CLI::NonNegativeNumber);
  cmd->callback([o] {
    JobDb db;
    auto j = db.find(o->job);
    if (o->follow) {
      wait_for_job(db, j, true, o->rank);
      return;
    }
    std::cout << make_backend(j.spec.cluster)->logs(j.backend_id, j.spec, j.spec.job_dir, o->rank);
  });
}

void setup_cancel(CLI::App& app) {
  auto job = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("cancel", "cancel a job");
  cmd->add_option("job", *job, "awsdt job number or scheduler id")->required();
  cmd->callback([job] {
    JobDb db;
    auto j = db.find(*job);
    make_backend(j.spec.cluster)->cancel(j.backend_id, j.spec, j.spec.job_dir);
    // Report the state the scheduler reaches (cancellation is asynchronous everywhere), within a bound.
    for (int i = 0; i < 50; ++i) {
      j = refresh(db, {j}).front();
      if (is_terminal_state(j.state)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::cout << fmt::format("job {} ({}): {}\n", j.id, j.backend_id, j.state);
  });
}

}  // namespace awsdt::launcher
