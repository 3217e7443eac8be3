// Slurm backend (see slurm_backend.hpp).
#include "cluster/slurm/slurm_backend.hpp"

#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "escape.hpp"
#include "cluster/checks.hpp"
#include "process.hpp"
#include "render_data.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

JobState slurm_state(const std::string& name) {
  if (name.starts_with("CANCELLED")) return JobState::Cancelled;
  if (name == "PENDING" || name == "CONFIGURING" || name == "REQUEUED" || name == "REQUEUE_HOLD" ||
      name == "SUSPENDED" || name == "RESV_DEL_HOLD")
    return JobState::Pending;
  if (name == "RUNNING" || name == "COMPLETING" || name == "STAGE_OUT" || name == "SIGNALING" || name == "RESIZING")
    return JobState::Running;
  if (name == "COMPLETED") return JobState::Completed;
  if (name == "FAILED" || name == "TIMEOUT" || name == "NODE_FAIL" || name == "OUT_OF_MEMORY" || name == "BOOT_FAIL" ||
      name == "DEADLINE" || name == "PREEMPTED")
    return JobState::Failed;
  return JobState::Unknown;
}

namespace {
// "3:0" -> 3 (the job's exit code; the part after ':' is the signal).
int exit_code_of(const std::string& field) {
  try {
    return std::stoi(field.substr(0, field.find(':')));
  } catch (...) {
    return -1;
  }
}

// srun --label writes "N: line" (N padded to the width of the largest rank). Rank `rank`'s lines without their
// label, and the script's own unlabelled lines (awsdt's requeue messages, srun's errors), in their order; a last
// line still being written stays without its newline, so that `logs --follow` waits for the rest of it.
std::string lines_of_rank(const std::string& text, int rank) {
  static const std::regex label(R"(^ *(\d+): )");
  std::string out;
  std::smatch m;
  for (std::size_t start = 0; start < text.size();) {
    auto nl = text.find('\n', start);
    auto end = nl == std::string::npos ? text.size() : nl + 1;
    std::string line = text.substr(start, end - start);
    start = end;
    bool labelled = std::regex_search(line, m, label);
    if (labelled && std::stoi(m[1]) != rank) continue;
    out += labelled ? line.substr(m.length(0)) : line;
  }
  return out;
}

class SlurmBackend final : public ClusterBackend {
 public:
  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override {
    require_plain(spec.job_dir, "job directory (Slurm writes logs there)");
    if (!spec.container.empty() && spec.job_dir.find_first_of(",:") != std::string::npos)
      throw UsageError(fmt::format("job directory {} cannot be a pyxis mount; use one without ',' or ':'",
                                   json_quote(spec.job_dir)));
    Artifacts a;
    a.files.emplace_back("job.sbatch", templates.render("slurm/sbatch.sh", template_data(spec, "job.sbatch")));
    a.submit_commands.push_back({"sbatch", "--parsable", fmt::format("{}/job.sbatch", spec.job_dir)});
    return a;
  }

  std::string submit(const JobSpec& spec, const Artifacts&, const fs::path& dir) override {
    auto r = run_checked({"sbatch", "--parsable", (dir / "job.sbatch").string()});
    auto id = r.out.substr(0, r.out.find_first_of(";\n"));  // "ID" or "ID;cluster"
    if (id.empty()) AWSDT_THROW(fmt::format("sbatch printed no job id: {}", r.out));
    return id;
  }

  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids, const std::vector<JobSpec>&) override {
    std::map<std::string, JobStatus> out;
    if (ids.empty()) return out;
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ",") + id;
    // 1. one squeue call for everything still queued or running
    auto q = run_process({"squeue", "-h", "-j", list, "-o", "%i %T"});
    std::istringstream qs(q.out);
    std::string id, state;
    while (qs >> id >> state) out[id] = {slurm_state(state), -1, state};
    std::vector<std::string> done;
    for (const auto& i : ids)
      if (!out.count(i)) done.push_back(i);
    if (done.empty()) return out;
    // 2. one sacct call for finished jobs (accounting database, or the jobcomp file with -c)
    std::string done_list;
    for (const auto& i : done) done_list += (done_list.empty() ? "" : ",") + i;
    for (const auto& args :
         {std::vector<std::string>{"sacct", "-n", "-P", "-X", "-j", done_list, "-o", "JobID,State,ExitCode"},
          std::vector<std::string>{"sacct", "-c", "-n", "-P", "-j", done_list, "-o", "JobID,State,ExitCode"}}) {
      auto r = run_process(args);
      if (r.status != 0) continue;
      std::istringstream ss(r.out);
      std::string line;
      // A requeued job has one record per run, oldest first (the jobcomp file keeps them all, with the requeued
      // run as PENDING): within one answer the last record is the job's state now.
      std::set<std::string> this_answer;
      while (std::getline(ss, line)) {
        std::vector<std::string> f;
        std::stringstream ls(line);
        for (std::string part; std::getline(ls, part, '|');) f.push_back(part);
        if (f.size() < 3 || f[0].find('.') != std::string::npos) continue;
        if (out.count(f[0]) && !this_answer.count(f[0])) continue;  // an earlier source already answered
        this_answer.insert(f[0]);
        auto st = slurm_state(f[1].substr(0, f[1].find(' ')));
        out[f[0]] = {st, exit_code_of(f[2]), f[1]};
      }
    }
    // 3. scontrol remembers recently finished jobs (MinJobAge) even without accounting
    for (const auto& i : done) {
      if (out.count(i) && out[i].state != JobState::Unknown && !(out[i].state == JobState::Cancelled)) continue;
      auto r = run_process({"scontrol", "show", "job", "-o", i});
      if (r.status != 0) continue;
      auto field = [&](const std::string& key) {
        auto p = r.out.find(key + "=");
        if (p == std::string::npos) return std::string();
        p += key.size() + 1;
        return r.out.substr(p, r.out.find_first_of(" \n", p) - p);
      };
      auto st = field("JobState");
      out[i] = {slurm_state(st), exit_code_of(field("ExitCode")), st};
    }
    for (const auto& i : done)
      if (!out.count(i)) out[i] = {JobState::Unknown, -1, "not known to squeue, sacct or scontrol"};
    return out;
  }

  std::string logs(const std::string& id, const JobSpec& spec, const fs::path& dir, int rank) override {
    if (spec.launcher != "srun" && rank != 0)
      throw UsageError(
          fmt::format("--rank {}: this job's ranks were started by {}, whose output is not labelled by "
                      "rank; `awsdt logs` without --rank shows all of it",
                      rank, spec.launcher));
    std::string text;
    for (const char* ext : {"out", "err"}) {  // jobs rendered before stderr joined stdout have a .err
      fs::path f = dir / fmt::format("slurm-{}.{}", id, ext);
      if (fs::exists(f)) text += read_file(f.string());
    }
    return spec.launcher == "srun" ? lines_of_rank(text, rank) : text;
  }

  void cancel(const std::string& id, const JobSpec&, const fs::path&) override { run_checked({"scancel", id}); }

  void validate(const JobSpec& s) const override {
    checks::refuse_torchrun(s);
    if (s.launcher == "mpirun" && !s.container.empty())
      throw UsageError(
          fmt::format("--launcher mpirun cannot start ranks in --container {} (pyxis works through "
                      "srun); use --launcher srun",
                      json_quote(s.container)));
    checks::require_efa_across_nodes(s);
  }
};

}  // namespace

std::unique_ptr<ClusterBackend> make_slurm_backend() { return std::make_unique<SlurmBackend>(); }

}  // namespace awsdt::launcher
