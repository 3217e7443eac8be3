// Local backend (see local_backend.hpp). The job runs as `bash wrapper` in its own session: the wrapper runs
// run.sh and records its exit status in the job directory, so status works after awsdt itself has exited.
#include "cluster/local/local_backend.hpp"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "cluster/checks.hpp"
#include "escape.hpp"
#include "process.hpp"
#include "render_data.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {

class LocalBackend final : public ClusterBackend {
 public:
  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override {
    auto data = template_data(spec, "run.sh");
    data.set("mpirun", AWSDT_MPIRUN);
    data.set("oversubscribe", spec.total_tasks() > int(std::thread::hardware_concurrency())
                                  ? kainjow::mustache::data::type::bool_true
                                  : kainjow::mustache::data::type::bool_false);
    data.set("as_root",
             ::geteuid() == 0 ? kainjow::mustache::data::type::bool_true : kainjow::mustache::data::type::bool_false);
    Artifacts a;
    a.files.emplace_back("run.sh", templates.render("local/run.sh", data));
    a.submit_commands.push_back({"bash", "run.sh"});
    return a;
  }

  std::string submit(const JobSpec&, const Artifacts&, const fs::path& dir) override {
    // A job run again in the same --job-dir (to resume from its checkpoints/) must not inherit the last run's
    // status; its log is kept beside the new one.
    for (const char* stale : {"exit_code", "exit_code.tmp", "cancelled"}) fs::remove(dir / stale);
    if (fs::exists(dir / "output.log")) fs::rename(dir / "output.log", dir / "output.previous.log");
    // The wrapper keeps the exit status; `exec` in run.sh makes mpirun the process we signal on cancel.
    std::string wrapper = fmt::format("cd {0} && bash run.sh; echo $? > exit_code.tmp && mv exit_code.tmp exit_code",
                                      "\"$AWSDT_JOB_DIR\"");
    ::setenv("AWSDT_JOB_DIR", dir.c_str(), 1);
    int pid = spawn_detached({"bash", "-c", wrapper}, (dir / "output.log").string());
    return std::to_string(pid);
  }

  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids,
                                          const std::vector<JobSpec>& specs) override {
    std::map<std::string, JobStatus> out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      fs::path dir = specs[i].job_dir;
      JobStatus st;
      // Liveness first: a job that ends between the two checks has written its exit status before its processes
      // were gone, so the file check that follows sees it (the other order reported such a job as vanished).
      // The session leader is alive (kill 0 works on our own process group even as a zombie is reaped by init).
      const bool alive = ::kill(-std::stoi(ids[i]), 0) == 0;
      if (fs::exists(dir / "exit_code")) {
        st.exit_code = std::stoi(read_file((dir / "exit_code").string()));
        bool cancelled = fs::exists(dir / "cancelled");
        st.state = cancelled ? JobState::Cancelled : st.exit_code == 0 ? JobState::Completed : JobState::Failed;
      } else {
        bool cancelled = fs::exists(dir / "cancelled");
        st.state = alive ? JobState::Running : cancelled ? JobState::Cancelled : JobState::Failed;
        if (!alive && !cancelled) st.detail = "the job's processes are gone without an exit status";
      }
      out[ids[i]] = st;
    }
    return out;
  }

  std::string logs(const std::string&, const JobSpec&, const fs::path& dir, int rank) override {
    if (rank != 0)
      throw UsageError(
          fmt::format("--rank {}: a local job's ranks share one log (mpirun's); `awsdt logs` without "
                      "--rank shows all of it",
                      rank));
    fs::path log = dir / "output.log";
    return fs::exists(log) ? read_file(log.string()) : std::string();
  }

  void cancel(const std::string& id, const JobSpec&, const fs::path& dir) override {
    std::ofstream(dir / "cancelled") << "1\n";
    ::kill(-std::stoi(id), SIGTERM);  // the whole session: wrapper, mpirun and its ranks
  }

  // The local cluster runs this machine's build directly: an image or mount it would ignore is refused, not dropped.
  void validate(const JobSpec& s) const override {
    checks::refuse_torchrun(s);
    checks::refuse_extra(s);
    if (!s.container.empty())
      throw UsageError(
          fmt::format("--container {} needs a cluster that runs containers (slurm or hyperpod-slurm "
                      "with pyxis, eks, hyperpod-eks, batch); --cluster local runs this machine's build",
                      json_quote(s.container)));
    if (!s.mounts.empty())
      throw UsageError(fmt::format("--mount {} is a container mount; --cluster local runs no container",
                                   json_quote(s.mounts.front())));
  }
};

}  // namespace

std::unique_ptr<ClusterBackend> make_local_backend() { return std::make_unique<LocalBackend>(); }

}  // namespace awsdt::launcher
