// AWS Batch backend (see batch_backend.hpp).
#include "cluster/batch/batch_backend.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.hpp"
#include "cluster/checks.hpp"
#include "process.hpp"
#include "render_data.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

std::string aws_cli() { return fs::exists("/usr/bin/aws") ? "/usr/bin/aws" : "aws"; }

namespace {
// FNV-1a of the definition without its name: equal definitions get equal names and are registered once.
std::string content_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

class BatchBackend final : public ClusterBackend {
 public:
  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override {
    auto data = template_data(spec, "job-definition.json");
    data.set("definition_name", "awsdt-pending");
    auto probe = templates.render("batch/job-definition.json", data);
    std::string name = fmt::format("awsdt-{}-{}", spec.test_case, content_hash(probe).substr(0, 12));
    data.set("definition_name", name);
    Artifacts a;
    a.files.emplace_back("job-definition.json", templates.render("batch/job-definition.json", data));
    a.files.emplace_back("submit-job.json", templates.render("batch/submit-job.json", data));
    a.submit_commands.push_back({aws_cli(), "batch", "register-job-definition", "--cli-input-json",
                                 "file://" + spec.job_dir + "/job-definition.json"});
    a.submit_commands.push_back(
        {aws_cli(), "batch", "submit-job", "--cli-input-json", "file://" + spec.job_dir + "/submit-job.json"});
    return a;
  }

  std::string submit(const JobSpec&, const Artifacts& a, const fs::path& dir) override {
    auto def = nlohmann::json::parse(a.files[0].second);
    std::string name = def["jobDefinitionName"];
    auto existing = run_checked({aws_cli(), "batch", "describe-job-definitions", "--job-definition-name", name,
                                 "--status", "ACTIVE", "--output", "json"});
    if (nlohmann::json::parse(existing.out).value("jobDefinitions", nlohmann::json::array()).empty())
      run_checked({aws_cli(), "batch", "register-job-definition", "--cli-input-json",
                   "file://" + (dir / "job-definition.json").string()});
    auto r = run_checked({aws_cli(), "batch", "submit-job", "--cli-input-json",
                          "file://" + (dir / "submit-job.json").string(), "--output", "json"});
    return nlohmann::json::parse(r.out).at("jobId");
  }

  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids, const std::vector<JobSpec>&) override {
    std::map<std::string, JobStatus> out;
    for (std::size_t start = 0; start < ids.size(); start += 100) {
      std::vector<std::string> cmd{aws_cli(), "batch", "describe-jobs", "--output", "json", "--jobs"};
      for (std::size_t i = start; i < std::min(ids.size(), start + 100); ++i) cmd.push_back(ids[i]);
      auto r = run_checked(cmd);
      for (const auto& j : nlohmann::json::parse(r.out).value("jobs", nlohmann::json::array())) {
        std::string s = j.value("status", "");
        JobStatus st;
        st.detail = j.value("statusReason", s);
        if (s == "SUCCEEDED")
          st.state = JobState::Completed, st.exit_code = 0;
        else if (s == "FAILED")
          st.state = JobState::Failed;
        else if (s == "RUNNING")
          st.state = JobState::Running;
        else if (!s.empty())
          st.state = JobState::Pending;
        if (j.contains("container") && j["container"].contains("exitCode")) st.exit_code = j["container"]["exitCode"];
        out[j.value("jobId", "")] = st;
      }
    }
    return out;
  }

  std::string logs(const std::string& id, const JobSpec&, const fs::path&, int rank) override {
    // Node `rank` of a multi-node job is the child job "<id>#<rank>"; its log stream is in describe-jobs.
    auto r = run_checked(
        {aws_cli(), "batch", "describe-jobs", "--output", "json", "--jobs", id + "#" + std::to_string(rank)});
    auto jobs = nlohmann::json::parse(r.out).value("jobs", nlohmann::json::array());
    if (jobs.empty() || !jobs[0].contains("container") || !jobs[0]["container"].contains("logStreamName"))
      return "no log stream yet\n";
    auto logs =
        run_checked({aws_cli(), "logs", "get-log-events", "--log-group-name", "/aws/batch/job", "--log-stream-name",
                     jobs[0]["container"]["logStreamName"], "--output", "text", "--query", "events[].message"});
    return logs.out;
  }

  void cancel(const std::string& id, const JobSpec&, const fs::path&) override {
    run_checked({aws_cli(), "batch", "terminate-job", "--job-id", id, "--reason", "cancelled with awsdt cancel"});
  }

  void validate(const JobSpec& s) const override {
    checks::refuse_torchrun(s);
    checks::refuse_extra(s);
    checks::require_container(s);
    if (s.queue.empty()) throw UsageError("--cluster batch needs --queue (the AWS Batch job queue to submit to)");
    checks::require_instance_type(s);
    checks::require_efa_across_nodes(s);
  }
};

}  // namespace

std::unique_ptr<ClusterBackend> make_batch_backend() { return std::make_unique<BatchBackend>(); }

}  // namespace awsdt::launcher
