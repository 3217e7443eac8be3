// EKS backend (see eks_backend.hpp). `--launcher torchrun` renders a PyTorchJob (environment bootstrap); any other
// launcher an MPIJob; HyperPod EKS always renders a HyperPodPyTorchJob.
#include "cluster/eks/eks_backend.hpp"

#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cluster/checks.hpp"
#include "escape.hpp"
#include "process.hpp"
#include "render_data.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {

class EksBackend final : public ClusterBackend {
 public:
  explicit EksBackend(bool hyperpod) : hyperpod_(hyperpod) {}

  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override {
    Artifacts a;
    auto k = kind(spec);
    std::string tmpl = k == "mpijob"       ? "eks/mpijob.yaml"
                       : k == "pytorchjob" ? "eks/pytorchjob.yaml"
                                           : "hyperpod/hyperpodpytorchjob.yaml";
    std::string file = k + ".yaml";
    a.files.emplace_back(file, templates.render(tmpl, template_data(spec, file)));
    a.submit_commands.push_back({"kubectl", "apply", "-f", spec.job_dir + "/" + file});
    return a;
  }

  std::string submit(const JobSpec& spec, const Artifacts& a, const fs::path& dir) override {
    run_checked({"kubectl", "apply", "-f", (dir / a.files.front().first).string()});
    return kind(spec) + "/" + spec.name;
  }

  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids,
                                          const std::vector<JobSpec>& specs) override {
    std::map<std::string, JobStatus> out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto r = run_process({"kubectl", "get", ids[i], "-n", specs[i].namespace_, "-o", "json"});
      JobStatus st;
      if (r.status != 0) {
        st.detail = r.err;
        out[ids[i]] = st;
        continue;
      }
      try {
        auto j = nlohmann::json::parse(r.out);
        st.state = JobState::Pending;
        for (const auto& c : j.value("status", nlohmann::json::object()).value("conditions", nlohmann::json::array())) {
          if (c.value("status", "") != "True") continue;
          auto type = c.value("type", "");
          if (type == "Running") st.state = JobState::Running;
          if (type == "Succeeded") st.state = JobState::Completed, st.exit_code = 0;
          if (type == "Failed") st.state = JobState::Failed, st.detail = c.value("message", "");
        }
      } catch (const nlohmann::json::exception& e) {
        st.detail = e.what();
      }
      out[ids[i]] = st;
    }
    return out;
  }

  std::string logs(const std::string&, const JobSpec& spec, const fs::path&, int rank) override {
    std::string selector = kind(spec) == "mpijob" ? "training.kubeflow.org/job-name=" + spec.name +
                                                        ",training.kubeflow.org/job-role=launcher"
                                                  : "training.kubeflow.org/job-name=" + spec.name +
                                                        ",training.kubeflow.org/replica-index=" + std::to_string(rank);
    auto r = run_process({"kubectl", "logs", "-n", spec.namespace_, "-l", selector, "--tail=-1"});
    return r.status == 0 ? r.out : r.err;
  }

  void cancel(const std::string& id, const JobSpec& spec, const fs::path&) override {
    run_checked({"kubectl", "delete", id, "-n", spec.namespace_});
  }

  void validate(const JobSpec& s) const override {
    if (hyperpod_) checks::refuse_torchrun(s);
    if (!std::regex_match(s.name, std::regex(R"([a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?)")))
      throw UsageError(
          fmt::format("job name {} is not a Kubernetes name (lowercase letters, digits, '-')", json_quote(s.name)));
    if (!std::regex_match(s.namespace_, std::regex(R"([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)")))
      throw UsageError(fmt::format("--namespace {} is not a Kubernetes namespace", json_quote(s.namespace_)));
    checks::refuse_extra(s);
    checks::require_container(s);
    checks::require_instance_type(s);
    checks::require_efa_across_nodes(s);
  }

 private:
  /// mpijob, pytorchjob or hyperpodpytorchjob: which resource this spec renders to.
  std::string kind(const JobSpec& spec) const {
    if (hyperpod_) return "hyperpodpytorchjob";
    return spec.launcher == "torchrun" ? "pytorchjob" : "mpijob";
  }

  bool hyperpod_;
};

}  // namespace

std::unique_ptr<ClusterBackend> make_eks_backend(bool hyperpod) { return std::make_unique<EksBackend>(hyperpod); }

}  // namespace awsdt::launcher
