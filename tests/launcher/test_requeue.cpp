// Preemption and requeue, in process: the rendered Slurm script requeues on exit 75 and passes every other
// status through (run with stub srun/mpirun/scontrol), checkpointing test cases get a checkpoint directory that
// survives a requeue (once, never over the user's), result files land where every node and the next run see
// them, Batch retries exit 75, and exit 75 reads as PREEMPTED.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "checkpoint_args.hpp"
#include "cluster/backend.hpp"
#include "commands/job_flags.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"
#include "util/fs.hpp"

using namespace awsdt;
using namespace awsdt::launcher;
namespace fs = std::filesystem;

namespace {

const std::string kImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/awsdt:1";

JobCommand job(const std::string& test_case, const std::string& cluster) {
  JobCommand j;
  j.test_case = test_case;
  j.flags.cluster = cluster;
  j.flags.nodes = 1;
  j.flags.tasks_per_node = 1;
  j.flags.gpus_per_node = 0;
  j.flags.job_dir = "/fsx/awsdt/jobs/7-awsdt-" + test_case;
  if (cluster == "eks" || cluster == "hyperpod-eks" || cluster == "batch") {
    j.flags.instance_type = "p5.48xlarge";
    j.flags.container = kImage;
    j.flags.queue = "q";
  }
  return j;
}

// What `awsdt run` submits: the resolved spec plus the default result file and checkpoint directory.
JobSpec spec_of(const JobCommand& j) {
  Manifest m;
  auto spec = resolve(j, &m);
  add_result_arg(spec, m);
  add_checkpoint_arg(spec, m);
  return spec;
}

std::string rendered(const JobSpec& spec, const std::string& file) {
  for (const auto& [name, content] : make_backend(spec.cluster)->render(spec, TemplateSet::embedded()).files)
    if (name == file) return content;
  ADD_FAILURE() << "no artifact " << file;
  return {};
}

int count(const std::vector<std::string>& v, const std::string& s) { return int(std::count(v.begin(), v.end(), s)); }

// Runs a rendered Slurm script with stubs on PATH: the launcher (srun or mpirun) exits `launcher_status`,
// scontrol exits `scontrol_status`; both record their arguments in <dir>/calls.
struct ScriptRun {
  int status;
  std::string output, calls;
};
ScriptRun run_script(const std::string& script, int launcher_status, int scontrol_status = 0,
                     const std::string& env = "") {
  fs::path dir = awsdt::testing::temp_path("requeue", "stubs");
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto stub = [&](const std::string& name, int status) {
    write_file_atomic((dir / name).string(), "#!/bin/bash\necho \"" + name + " $*\" >> \"" + (dir / "calls").string() +
                                                 "\"\nexit " + std::to_string(status) + "\n");
    fs::permissions(dir / name, fs::perms::owner_all);
  };
  stub("srun", launcher_status);
  stub("mpirun", launcher_status);
  stub("scontrol", scontrol_status);
  write_file_atomic((dir / "job.sbatch").string(), script);
  auto out =
      awsdt::testing::run_command("env PATH=" + dir.string() + ":/usr/bin:/bin SLURM_JOB_ID=4242 SLURM_NTASKS=1 " +
                                  env + " bash " + (dir / "job.sbatch").string());
  std::string calls = fs::exists(dir / "calls") ? read_file((dir / "calls").string()) : "";
  fs::remove_all(dir);
  return {out.status, out.output, calls};
}

}  // namespace

TEST(SlurmScript, Exit75RequeuesTheJobAndExits75) {
  for (const std::string cluster : {"slurm", "hyperpod-slurm"})
    for (const std::string launcher : {"srun", "mpirun"}) {
      auto j = job("collectives", cluster);
      j.flags.launcher = launcher;
      j.flags.retries = 2;
      auto r = run_script(rendered(resolve(j), "job.sbatch"), 75, 0, "SLURM_RESTART_COUNT=1");
      SCOPED_TRACE(cluster + " " + launcher);
      EXPECT_EQ(r.status, 75) << r.output;
      EXPECT_NE(r.calls.find(launcher + " "), std::string::npos) << r.calls;
      EXPECT_NE(r.calls.find("scontrol requeue 4242\n"), std::string::npos) << r.calls;
      EXPECT_NE(r.output.find("awsdt: exit 75: checkpointed; requeueing job 4242"), std::string::npos) << r.output;
    }
}

TEST(SlurmScript, OtherStatusesPassThroughWithoutRequeue) {
  auto script = rendered(resolve(job("collectives", "slurm")), "job.sbatch");
  for (int status : {0, 1, 3, 74, 76, 137}) {
    auto r = run_script(script, status);
    EXPECT_EQ(r.status, status) << r.output;
    EXPECT_EQ(r.calls.find("scontrol"), std::string::npos) << "status " << status << ": " << r.calls;
  }
}

// srun would pin each task to one core, and a step no longer inherits --cpus-per-task (Slurm 22.05).
TEST(SlurmScript, SrunGivesEachTaskItsShareOfTheNodeUnbound) {
  auto j = job("collectives", "hyperpod-slurm");
  j.flags.tasks_per_node = 8;
  auto script = rendered(resolve(j), "job.sbatch");
  for (const auto& [cpus, share] : std::vector<std::pair<std::string, std::string>>{{"192", "24"}, {"4", "1"}}) {
    auto r = run_script(script, 0, 0, "SLURM_CPUS_ON_NODE=" + cpus);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(
        r.calls.rfind("srun --mpi=pmix --label --cpu-bind=none --cpus-per-task=" + share + " --auto-resume=1 ", 0), 0u)
        << r.calls;
  }
}

// Each requeue counts (SLURM_RESTART_COUNT): a time limit too short for startup and a checkpoint cannot loop.
TEST(SlurmScript, RequeuesOnlyWithinTheRetries) {
  auto j = job("collectives", "slurm");
  j.flags.retries = 2;
  auto script = rendered(resolve(j), "job.sbatch");
  for (const std::string restarts : {"2", "5"}) {
    auto r = run_script(script, 75, 0, "SLURM_RESTART_COUNT=" + restarts);
    EXPECT_EQ(r.status, 75) << r.output;
    EXPECT_EQ(r.calls.find("scontrol"), std::string::npos) << r.calls;
    EXPECT_NE(r.output.find("not requeued: " + restarts + " of 2 retries used"), std::string::npos) << r.output;
  }
  EXPECT_NE(run_script(script, 75).calls.find("scontrol requeue 4242"), std::string::npos) << "first run";
  // Test cases that checkpoint may be restarted 3 times unless told otherwise; others not at all.
  EXPECT_EQ(resolve(job("fsdp", "slurm")).retries, 3);
  EXPECT_EQ(resolve(job("collectives", "slurm")).retries, 0);
  auto none = job("fsdp", "batch");
  none.flags.retries = 0;
  EXPECT_EQ(resolve(none).retries, 0);
  auto def = nlohmann::json::parse(rendered(resolve(job("fsdp", "batch")), "job-definition.json"));
  EXPECT_EQ(def["retryStrategy"]["attempts"], 4);
  auto yaml = YAML::Load(rendered(resolve(job("fsdp", "hyperpod-eks")), "hyperpodpytorchjob.yaml"));
  EXPECT_EQ(yaml["spec"]["runPolicy"]["jobMaxRetryCount"].as<int>(), 3);
}

TEST(SlurmScript, RefusedRequeueStillExits75AndSaysSo) {
  auto j = job("collectives", "slurm");
  j.flags.retries = 1;
  auto r = run_script(rendered(resolve(j), "job.sbatch"), 75, 1);
  EXPECT_EQ(r.status, 75) << r.output;
  EXPECT_NE(r.output.find("awsdt: requeue refused"), std::string::npos) << r.output;
}

TEST(CheckpointArg, LocalAndSlurmUseTheJobDirectoryOnce) {
  for (const std::string cluster : {"local", "slurm", "hyperpod-slurm"}) {
    auto spec = spec_of(job("fsdp", cluster));
    SCOPED_TRACE(cluster);
    EXPECT_EQ(count(spec.args, "--checkpoint-dir"), 1);
    EXPECT_EQ(spec.args.back(), "/fsx/awsdt/jobs/7-awsdt-fsdp/checkpoints");
    Manifest m = find_manifest(test_cases_dir(""), "fsdp");
    add_checkpoint_arg(spec, m);  // a second pass (a rerun of the same spec) adds nothing
    EXPECT_EQ(count(spec.args, "--checkpoint-dir"), 1);
  }
  auto script = rendered(spec_of(job("fsdp", "slurm")), "job.sbatch");
  EXPECT_NE(script.find("--checkpoint-dir /fsx/awsdt/jobs/7-awsdt-fsdp/checkpoints"), std::string::npos) << script;
}

TEST(CheckpointArg, TheUsersFlagWinsInEitherSpelling) {
  auto j = job("fsdp", "slurm");
  // The user's flags come last (after the test case's merged defaults), and awsdt adds no second one.
  auto ends_with = [](const std::vector<std::string>& args, const std::vector<std::string>& tail) {
    return args.size() >= tail.size() && std::equal(tail.begin(), tail.end(), args.end() - long(tail.size()));
  };
  auto spelled = [](const std::vector<std::string>& args, const std::string& flag) {
    return std::count_if(args.begin(), args.end(), [&](const std::string& a) { return a.starts_with(flag); });
  };
  j.flags.args = {"--steps", "5", "--checkpoint-dir", "/mine", "--output", "/r.json"};
  auto spec = spec_of(j);
  EXPECT_TRUE(ends_with(spec.args, j.flags.args)) << ::testing::PrintToString(spec.args);
  EXPECT_EQ(spelled(spec.args, "--checkpoint-dir"), 1);
  EXPECT_EQ(spelled(spec.args, "--output"), 1);
  j.flags.args = {"--checkpoint-dir=/mine", "--output=/r.json"};
  spec = spec_of(j);
  EXPECT_TRUE(ends_with(spec.args, j.flags.args)) << ::testing::PrintToString(spec.args);
  EXPECT_EQ(spelled(spec.args, "--checkpoint-dir"), 1);
  EXPECT_EQ(spelled(spec.args, "--output"), 1);
}

TEST(CheckpointArg, OnlyTestCasesThatCheckpointGetOne) {
  auto spec = spec_of(job("collectives", "slurm"));
  EXPECT_EQ(count(spec.args, "--checkpoint-dir"), 0);
  auto no_dir = job("fsdp", "local");
  no_dir.flags.job_dir.reset();  // no job directory yet: nothing to point at
  EXPECT_EQ(count(spec_of(no_dir).args, "--checkpoint-dir"), 0);
}

// Under the first mount's target as a Slurm job root is laid out (awsdt/<user>/jobs/<job directory's name>): no
// directory of the machine that rendered the job (here /fsx/awsdt/jobs/) appears in the path.
TEST(CheckpointArg, ContainersUseTheirSharedMountOrNothing) {
  ::setenv("USER", "alice", 1);
  for (const std::string cluster : {"eks", "hyperpod-eks", "batch"}) {
    SCOPED_TRACE(cluster);
    auto bare = spec_of(job("fsdp", cluster));
    EXPECT_EQ(count(bare.args, "--checkpoint-dir"), 0) << "a checkpoint inside the container would not survive";
    auto j = job("fsdp", cluster);
    j.flags.mounts = {"/fsx:/data/", "/scratch:/scratch"};
    auto spec = spec_of(j);
    ASSERT_EQ(count(spec.args, "--checkpoint-dir"), 1);
    EXPECT_EQ(spec.args.back(), "/data/awsdt/alice/jobs/7-awsdt-fsdp/checkpoints");
  }
  // The mount the directory is under is really mounted in every rendered job.
  auto hp = job("fsdp", "hyperpod-eks");
  hp.flags.mounts = {"/fsx:/data"};
  auto hp_yaml = YAML::Load(rendered(spec_of(hp), "hyperpodpytorchjob.yaml"));
  auto pod = hp_yaml["spec"]["replicaSpecs"][0]["template"]["spec"];
  EXPECT_EQ(pod["containers"][0]["volumeMounts"][1]["mountPath"].as<std::string>(), "/data");
  EXPECT_EQ(pod["volumes"][1]["hostPath"]["path"].as<std::string>(), "/fsx");
  auto args = pod["containers"][0]["command"];
  EXPECT_EQ(args[args.size() - 1].as<std::string>(), "/data/awsdt/alice/jobs/7-awsdt-fsdp/checkpoints");
  auto batch = job("fsdp", "batch");
  batch.flags.mounts = {"/fsx:/data", "/scratch:/scratch"};
  auto def = nlohmann::json::parse(rendered(spec_of(batch), "job-definition.json"));
  auto c = def["nodeProperties"]["nodeRangeProperties"][0]["container"];
  ASSERT_EQ(c["volumes"].size(), 2u);
  EXPECT_EQ(c["volumes"][0]["host"]["sourcePath"], "/fsx");
  EXPECT_EQ(c["mountPoints"][0]["containerPath"], "/data");
  EXPECT_EQ(c["mountPoints"][1]["sourceVolume"], c["volumes"][1]["name"]);
  EXPECT_EQ(c["command"].back(), "/data/awsdt/alice/jobs/7-awsdt-fsdp/checkpoints");
}

TEST(ResultFile, ContainersWriteItUnderTheirSharedMountOrNotAtAll) {
  ::setenv("USER", "alice", 1);
  for (const std::string cluster : {"eks", "hyperpod-eks", "batch"}) {
    SCOPED_TRACE(cluster);
    EXPECT_EQ(count(spec_of(job("collectives", cluster)).args, "-J"), 0) << "the job directory is not in the container";
    auto j = job("collectives", cluster);
    j.flags.mounts = {"/fsx:/data/", "/scratch:/scratch"};
    auto spec = spec_of(j);
    ASSERT_EQ(count(spec.args, "-J"), 1);
    EXPECT_EQ(spec.args.back(), "/data/awsdt/alice/jobs/7-awsdt-collectives/result.json");
    j.flags.args = {"all_reduce", "-J=/data/mine.json"};  // the user's own, in either spelling, wins
    auto mine = spec_of(j).args;
    EXPECT_EQ(mine.back(), "-J=/data/mine.json");
    EXPECT_EQ(std::count_if(mine.begin(), mine.end(), [](const std::string& a) { return a.starts_with("-J"); }), 1);
  }
  auto slurm = spec_of(job("collectives", "hyperpod-slurm"));
  EXPECT_EQ(slurm.args.back(), "/fsx/awsdt/jobs/7-awsdt-collectives/result.json");
}

// enroot mounts neither $HOME nor the shared filesystem: the job directory (result, checkpoints) is mounted at its
// own path unless a mount already shows it there.
TEST(ResultFile, PyxisMountsTheJobDirectoryAtItsOwnPath) {
  const std::string dir = "/fsx/awsdt/jobs/7-awsdt-fsdp";
  for (const std::string cluster : {"slurm", "hyperpod-slurm"}) {
    SCOPED_TRACE(cluster);
    auto j = job("fsdp", cluster);
    j.flags.container = kImage;
    EXPECT_NE(rendered(spec_of(j), "job.sbatch").find(" --container-mounts=" + dir + ":" + dir + " "),
              std::string::npos);
    j.flags.mounts = {"/data:/data"};
    EXPECT_NE(rendered(spec_of(j), "job.sbatch").find(" --container-mounts=/data:/data," + dir + ":" + dir + " "),
              std::string::npos);
    j.flags.mounts = {"/fsx/:/fsx"};  // already there
    EXPECT_NE(rendered(spec_of(j), "job.sbatch").find(" --container-mounts=/fsx/:/fsx "), std::string::npos);
    j.flags.mounts = {"/fsx:/mnt/fsx"};  // there, but elsewhere in the container
    EXPECT_NE(rendered(spec_of(j), "job.sbatch").find(" --container-mounts=/fsx:/mnt/fsx," + dir + ":" + dir + " "),
              std::string::npos);
  }
  auto bare = rendered(spec_of(job("fsdp", "slurm")), "job.sbatch");
  EXPECT_EQ(bare.find("--container-mounts"), std::string::npos) << "no container, nothing to mount";
}

TEST(BatchRetry, Exit75IsRetriedWithinTheAttempts) {
  auto j = job("collectives", "batch");
  j.flags.retries = 2;
  auto def = nlohmann::json::parse(rendered(resolve(j), "job-definition.json"));
  EXPECT_EQ(def["retryStrategy"]["attempts"], 3);
  // Exit 75 and a lost host are retried; the last rule ends every other failure (Batch retries what matches none).
  const auto& rules = def["retryStrategy"]["evaluateOnExit"];
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0]["onExitCode"], "75");
  EXPECT_EQ(rules[0]["action"], "RETRY");
  EXPECT_EQ(rules[1]["onStatusReason"], "Host EC2*");
  EXPECT_EQ(rules[1]["action"], "RETRY");
  EXPECT_EQ(rules[2]["onReason"], "*");
  EXPECT_EQ(rules[2]["action"], "EXIT");
}

TEST(KubernetesRestart, PodsRestartOnFailureNotByExitCode) {
  auto j = job("collectives", "eks");
  auto mpijob = YAML::Load(rendered(resolve(j), "mpijob.yaml"));
  EXPECT_EQ(mpijob["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["restartPolicy"].as<std::string>(),
            "OnFailure");
  j.flags.launcher = "torchrun";
  j.flags.nodes = 2;
  j.flags.allow_no_efa = true;
  auto torch = YAML::Load(rendered(resolve(j), "pytorchjob.yaml"));
  for (const char* role : {"Master", "Worker"})
    EXPECT_EQ(torch["spec"]["pytorchReplicaSpecs"][role]["restartPolicy"].as<std::string>(), "OnFailure") << role;
}

TEST(States, Exit75ReadsAsPreempted) {
  auto st = with_preemption({JobState::Failed, 75, "NonZeroExitCode"});
  EXPECT_EQ(state_name(st.state), "PREEMPTED");
  EXPECT_EQ(st.detail, "exit 75: checkpointed, requeue to resume");
  EXPECT_TRUE(is_terminal_state("PREEMPTED"));
  EXPECT_EQ(with_preemption({JobState::Failed, 1, ""}).state, JobState::Failed);
  EXPECT_EQ(with_preemption({JobState::Running, -1, ""}).state, JobState::Running);
  EXPECT_EQ(with_preemption({JobState::Cancelled, 75, ""}).state, JobState::Cancelled);  // cancel wins
  EXPECT_FALSE(is_terminal_state("PENDING"));
}
