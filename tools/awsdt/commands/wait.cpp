// Waiting and refreshing (see wait.hpp).
#include "commands/wait.hpp"

#include <iostream>
#include <map>
#include <thread>

#include "cluster/backend.hpp"

namespace awsdt::launcher {

std::vector<JobRecord> refresh(JobDb& db, std::vector<JobRecord> jobs) {
  std::map<std::string, std::vector<std::size_t>> by_cluster;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& j = jobs[i];
    if (j.backend_id.empty() || is_terminal_state(j.state)) continue;
    by_cluster[j.spec.cluster].push_back(i);
  }
  for (const auto& [cluster, idx] : by_cluster) {
    std::vector<std::string> ids;
    std::vector<JobSpec> specs;
    for (auto i : idx) ids.push_back(jobs[i].backend_id), specs.push_back(jobs[i].spec);
    auto answers = make_backend(cluster)->status(ids, specs);
    for (auto i : idx) {
      auto it = answers.find(jobs[i].backend_id);
      if (it == answers.end() || it->second.state == JobState::Unknown) continue;
      auto st = with_preemption(it->second);
      jobs[i].state = state_name(st.state);
      jobs[i].exit_code = st.exit_code;
      db.set_state(jobs[i].id, jobs[i].state, jobs[i].exit_code);
    }
  }
  return jobs;
}

namespace {

// The last `n` lines of `text`.
std::string last_lines(const std::string& text, int n) {
  auto end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  auto start = end;
  for (int lines = 0; start > 0; --start)
    if (text[start - 1] == '\n' && ++lines == n) break;
  return text.substr(start);
}

}  // namespace

int wait_for_job(JobDb& db, const JobRecord& job_in, bool follow, int rank) {
  auto backend = make_backend(job_in.spec.cluster);
  JobRecord job = job_in;
  std::size_t shown = 0;
  auto interval = std::chrono::milliseconds(job.spec.cluster == "local" ? 200 : 1000);
  for (;;) {
    job = refresh(db, {job}).front();
    const bool done = is_terminal_state(job.state);
    if (follow) {
      // Whole lines only while the job runs: a line still being written is printed once it is complete.
      auto text = backend->logs(job.backend_id, job.spec, job.spec.job_dir, rank);
      auto upto = done ? text.size() : text.rfind('\n') + 1;  // npos + 1 == 0: nothing complete yet
      if (upto > shown) std::cout << text.substr(shown, upto - shown) << std::flush, shown = upto;
    }
    if (done) break;
    std::this_thread::sleep_for(interval);
  }
  std::cerr << "awsdt: job " << job.id << " " << job.state << " (exit code " << job.exit_code << ")\n";
  if (job.state == state_name(JobState::Preempted))
    std::cerr << "awsdt: it checkpointed after a preemption signal; run it again with --job-dir " << job.spec.job_dir
              << " (same checkpoint directory) to resume\n";
  // Why it failed, without a second command: the end of the log (unless it was just streamed).
  if (job.state == state_name(JobState::Failed) && !follow) {
    auto tail = last_lines(backend->logs(job.backend_id, job.spec, job.spec.job_dir, rank), 15);
    if (!tail.empty()) std::cerr << "awsdt: the last lines of its log (awsdt logs " << job.id << "):\n" << tail << "\n";
  }
  if (job.state == "CANCELLED") return 128 + 15;
  if (job.state == "COMPLETED") return job.exit_code < 0 ? 0 : job.exit_code;
  return job.exit_code > 0 ? job.exit_code : 1;
}

}  // namespace awsdt::launcher
