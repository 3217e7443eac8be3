// Real jobs through `awsdt run`: locally (mpirun) and on a real single-node Slurm cluster (fixture
// slurm_cluster): exit status and result file recorded, status/logs/jobs from another directory, cancel, a
// failing job; and the AWS CLI's own client-side validation of the rendered Batch requests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/executables.hpp"
#include "support/run_command.hpp"

using awsdt::testing::Outcome;
using awsdt::testing::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kAwsdt = awsdt::testing::built_executable("awsdt");

// Every command runs with its own job database and from a directory other than the one that submitted.
class Jobs : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = fs::temp_directory_path() / ("awsdt_jobs_" + std::to_string(::getpid()) + "_" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(state_);
    fs::create_directories(state_ / "elsewhere");
  }
  void TearDown() override { fs::remove_all(state_); }
  Outcome awsdt(const std::string& args, const std::string& cwd = "/", int limit = 180) {
    return run_command("env XDG_STATE_HOME=" + state_.string() + " " + kAwsdt + " " + args, limit, cwd);
  }
  // The job number `awsdt run` printed (last line of stdout).
  static std::string job_number(const Outcome& o) {
    std::smatch m;
    std::regex re(R"(awsdt: job (\d+) submitted)");
    return std::regex_search(o.output, m, re) ? m[1].str() : "";
  }
  fs::path state_;
};

bool slurm_available() { return std::getenv("SLURM_CONF") != nullptr; }

// A test case "preemptible" whose trainer behaves like awsdt-fsdp after a preemption signal: its first run writes
// a checkpoint into --checkpoint-dir and exits 75 ("requeue me"); a run that finds the checkpoint finishes (0).
// Returns the flags that select it.
std::string write_preemptible_case(const fs::path& root) {
  fs::create_directories(root / "cases" / "preemptible");
  fs::create_directories(root / "bin");
  std::ofstream(root / "cases" / "preemptible" / "test_case.json")
      << R"({"name": "preemptible", "executable": "stub-trainer", "description": "checkpoints and exits 75 once",
             "resources": {"local_ranks": 1}, "checkpoint_flag": "--checkpoint-dir"})";
  std::ofstream(root / "bin" / "stub-trainer") << R"(#!/bin/bash
echo "stub-trainer args: $*"
while [[ $# -gt 0 ]]; do
  [[ $1 == --checkpoint-dir ]] && ckpt=$2
  [[ $1 == --checkpoint-dir=* ]] && ckpt=${1#*=}
  shift
done
if [[ -e $ckpt/step ]]; then echo "resumed from $ckpt"; exit 0; fi
mkdir -p "$ckpt" && echo 3 > "$ckpt/step" && echo "checkpointed to $ckpt"
exit 75
)";
  fs::permissions(root / "bin" / "stub-trainer", fs::perms::owner_all);
  return " --test-cases " + (root / "cases").string() + " --bin-dir " + (root / "bin").string();
}

int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

const std::string kSmall = " -- all_reduce -b 1K -e 4K -f 2 -n 2 -w 1";

}  // namespace

TEST_F(Jobs, LocalJobRecordsExitStatusAndResultFile) {
  auto run = awsdt("run collectives --wait" + kSmall, state_.string());
  ASSERT_EQ(run.status, 0) << run.output;
  auto id = job_number(run);
  ASSERT_FALSE(id.empty()) << run.output;
  auto jobs = awsdt("jobs", (state_ / "elsewhere").string());
  EXPECT_NE(jobs.output.find("COMPLETED"), std::string::npos) << jobs.output;
  EXPECT_NE(jobs.output.find("result.json"), std::string::npos) << jobs.output;
  auto logs = awsdt("logs " + id, (state_ / "elsewhere").string());
  EXPECT_NE(logs.output.find("# Avg bus bandwidth"), std::string::npos) << logs.output;
  auto status = awsdt("status " + id);
  EXPECT_NE(status.output.find("COMPLETED"), std::string::npos) << status.output;
  auto results = fs::path(state_) / "awsdt" / "jobs";
  bool found = false;
  for (const auto& e : fs::recursive_directory_iterator(results))
    if (e.path().filename() == "result.json")
      found = nlohmann::json::parse(std::ifstream(e.path()))["benchmark"] == "collectives";
  EXPECT_TRUE(found);
}

TEST_F(Jobs, LocalFailingJobReportsFailedWithItsExitCode) {
  auto run = awsdt("run collectives --wait -- all_reduce -b 1K -e 1K -n 1 --corrupt-result-for-test");
  EXPECT_EQ(run.status, 1) << run.output;
  auto jobs = awsdt("jobs");
  EXPECT_NE(jobs.output.find("FAILED"), std::string::npos) << jobs.output;
}

TEST_F(Jobs, LocalCancelEndsALongJob) {
  auto run = awsdt("run collectives --detach -- all_reduce -b 1K -e 1K -n 100000000 -w 0 -c 0");
  ASSERT_EQ(run.status, 0) << run.output;
  auto id = job_number(run);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto cancel = awsdt("cancel " + id, (state_ / "elsewhere").string());
  EXPECT_EQ(cancel.status, 0) << cancel.output;
  EXPECT_NE(cancel.output.find("CANCELLED"), std::string::npos) << cancel.output;
  EXPECT_LT(cancel.seconds, 15.0);
}

TEST_F(Jobs, LocalExit75IsPreemptedAndResumesInItsJobDir) {
  auto flags = write_preemptible_case(state_);
  auto run = awsdt("run preemptible --wait" + flags, state_.string());
  EXPECT_EQ(run.status, 75) << run.output;
  auto id = job_number(run);
  EXPECT_NE(run.output.find("PREEMPTED (exit code 75)"), std::string::npos) << run.output;
  auto jobs = awsdt("jobs", (state_ / "elsewhere").string());
  EXPECT_NE(jobs.output.find("PREEMPTED"), std::string::npos) << jobs.output;
  EXPECT_NE(jobs.output.find("exit 75: checkpointed, requeue to resume"), std::string::npos) << jobs.output;
  EXPECT_NE(awsdt("status " + id).output.find("PREEMPTED"), std::string::npos);
  // The checkpoint directory was added once, inside the job directory.
  auto job_dir = state_ / "awsdt" / "jobs" / (id + "-awsdt-preemptible");
  auto logs = awsdt("logs " + id).output;
  EXPECT_EQ(occurrences(logs, "--checkpoint-dir"), 1) << logs;
  EXPECT_NE(logs.find("--checkpoint-dir " + (job_dir / "checkpoints").string()), std::string::npos) << logs;
  EXPECT_TRUE(fs::exists(job_dir / "checkpoints" / "step"));
  // Run again in the same job directory: it resumes and completes, without the last run's exit status.
  auto again = awsdt("run preemptible --wait --job-dir " + job_dir.string() + flags, state_.string());
  EXPECT_EQ(again.status, 0) << again.output;
  auto again_logs = awsdt("logs " + job_number(again)).output;
  EXPECT_NE(again_logs.find("resumed from " + (job_dir / "checkpoints").string()), std::string::npos) << again_logs;
  EXPECT_NE(awsdt("status " + job_number(again)).output.find("COMPLETED"), std::string::npos);
}

TEST_F(Jobs, LocalCheckpointFlagOfTheUserIsKept) {
  auto flags = write_preemptible_case(state_);
  auto mine = (state_ / "mine").string();
  auto run = awsdt("run preemptible --wait" + flags + " -- --checkpoint-dir " + mine, state_.string());
  EXPECT_EQ(run.status, 75) << run.output;
  auto logs = awsdt("logs " + job_number(run)).output;
  EXPECT_EQ(occurrences(logs, "--checkpoint-dir"), 1) << logs;
  EXPECT_NE(logs.find("stub-trainer args: --checkpoint-dir " + mine + "\n"), std::string::npos) << logs;
}

TEST_F(Jobs, DryRunPrintsManifestsAndCommandsWithoutTheClients) {
  auto eks = awsdt("run collectives --cluster eks -N 2 --instance-type p5.48xlarge --container img:1 --dry-run");
  ASSERT_EQ(eks.status, 0) << eks.output;
  EXPECT_NE(eks.output.find("kind: MPIJob"), std::string::npos);
  EXPECT_NE(eks.output.find("kubectl apply -f "), std::string::npos);
  auto batch =
      awsdt("run collectives --cluster batch -N 2 --instance-type p5.48xlarge --container img:1 --queue q --dry-run");
  ASSERT_EQ(batch.status, 0) << batch.output;
  EXPECT_NE(batch.output.find("batch register-job-definition --cli-input-json file://"), std::string::npos);
  EXPECT_NE(batch.output.find("batch submit-job --cli-input-json file://"), std::string::npos);
  EXPECT_EQ(awsdt("jobs").output.find("batch"), std::string::npos) << "a dry run was recorded";
}

// A job that never reaches its scheduler leaves no row in `awsdt jobs` and no directory behind.
TEST_F(Jobs, FailedRenderOrSubmitLeavesNoGhostJob) {
  auto no_queue = awsdt("run collectives --cluster batch -N 2 --instance-type p5.48xlarge --container img:1");
  EXPECT_EQ(no_queue.status, 2) << no_queue.output;
  EXPECT_EQ(no_queue.output, "error: --cluster batch needs --queue (the AWS Batch job queue to submit to)\n");
  auto bad_dir = awsdt("run collectives --cluster slurm -N 1 --tasks-per-node 1 --job-dir '" +
                       (state_ / "a b").string() + "'");  // refused while rendering, after the job had a number
  EXPECT_EQ(bad_dir.status, 2) << bad_dir.output;
  EXPECT_NE(bad_dir.output.find("job directory"), std::string::npos) << bad_dir.output;
  auto no_sbatch = run_command("env PATH=/nonexistent XDG_STATE_HOME=" + state_.string() + " " + kAwsdt +
                               " run collectives --cluster slurm -N 1 --tasks-per-node 1");
  EXPECT_NE(no_sbatch.status, 0) << no_sbatch.output;
  EXPECT_NE(no_sbatch.output.find("sbatch"), std::string::npos) << no_sbatch.output;
  auto jobs = awsdt("jobs");
  EXPECT_EQ(jobs.output.find("RENDERED"), std::string::npos) << jobs.output;
  EXPECT_EQ(jobs.output.find("slurm"), std::string::npos) << jobs.output;
  EXPECT_TRUE(fs::is_empty(state_ / "awsdt" / "jobs")) << "a failed job left its directory";
}

// Eight jobs submitted at once while `awsdt jobs` and `awsdt status` poll the database: every job is recorded
// exactly once with its final state, and no command ever reports SQLite's "database is locked" (or fails).
TEST_F(Jobs, LocalEightDetachedJobsAtOnceAreEachRecordedOnce) {
  constexpr int kJobs = 8;
  std::vector<Outcome> runs(kJobs), polls;
  std::vector<std::thread> submitters;
  for (int i = 0; i < kJobs; ++i)
    submitters.emplace_back(
        [&, i] { runs[i] = awsdt("run collectives --detach -- all_reduce -b 1K -e 1K -n 2 -w 0"); });
  std::vector<std::string> completed;
  for (int round = 0; round < 240; ++round) {  // at most about two minutes on a loaded machine
    polls.push_back(awsdt("status"));
    polls.push_back(awsdt("jobs -n 100"));
    std::smatch m;
    std::regex row(R"((^|\n)(\d+) +\S+ +COMPLETED )");
    completed.clear();
    for (auto it = polls.back().output.cbegin(); std::regex_search(it, polls.back().output.cend(), m, row);
         it = m[0].second)
      completed.push_back(m[2]);
    if (static_cast<int>(completed.size()) == kJobs) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  for (auto& t : submitters) t.join();
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(job_number(r).empty()) << r.output;
  }
  for (const auto& p : polls) {
    EXPECT_EQ(p.status, 0) << p.output;
    EXPECT_EQ(p.output.find("locked"), std::string::npos) << p.output;
  }
  // Once each: eight rows, numbered 1..8, all COMPLETED with exit status 0.
  std::sort(completed.begin(), completed.end());
  EXPECT_EQ(completed, (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8"})) << polls.back().output;
  const auto& table = polls.back().output;
  const std::regex any_row(R"((^|\n)\d+ )");
  EXPECT_EQ(std::distance(std::sregex_iterator(table.begin(), table.end(), any_row), std::sregex_iterator()), kJobs)
      << table;
}

// A job directory on a full disk: one line naming the file and the reason, exit 2, no row in `awsdt jobs` and
// nothing left in the directory awsdt was to create. The disk is a 32 KiB tmpfs, filled up (root only).
TEST_F(Jobs, LocalJobDirOnAFullDiskIsOneLineAndNoRow) {
  const auto disk = state_ / "full";
  fs::create_directories(disk);
  if (::geteuid() != 0 || run_command("mount -t tmpfs -o size=32k tmpfs " + disk.string()).status != 0)
    GTEST_SKIP() << "needs root to mount a small tmpfs";
  run_command("dd if=/dev/zero of=" + (disk / "filler").string() + " bs=4k");  // until the disk is full
  auto run = awsdt("run collectives --detach --job-dir " + (disk / "job").string() + kSmall);
  const bool left_behind = fs::exists(disk / "job");
  run_command("umount " + disk.string());
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_EQ(occurrences(run.output, "\n"), 1) << run.output;
  EXPECT_NE(run.output.find("No space left on device"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find((disk / "job").string()), std::string::npos) << run.output;
  auto jobs = awsdt("jobs");
  EXPECT_EQ(jobs.output.find("collectives"), std::string::npos) << jobs.output;
  EXPECT_FALSE(left_behind) << "the job directory was left behind";
}

// The AWS CLI validates a request's shape on the client before any network call: exit 252 for a malformed
// request, 255 for a valid one that cannot reach the (unreachable) endpoint.
TEST_F(Jobs, AwsCliAcceptsTheBatchRequests) {
  if (!fs::exists("/usr/bin/aws")) GTEST_SKIP() << "AWS CLI v2 (/usr/bin/aws) not installed";
  auto dir = state_ / "batch";
  auto r = awsdt(
      "render fsdp --cluster batch -N 2 --instance-type p4d.24xlarge --container img:1 --queue q "
      "--mount /fsx:/fsx -o " +
      dir.string());  // fsdp with a mount: volumes, mountPoints, retry rules
  ASSERT_EQ(r.status, 0) << r.output;
  // Batch retries whatever matches no rule: only exit 75 and a lost host are retried, the last rule ends the rest.
  auto rules = nlohmann::json::parse(std::ifstream(dir / "job-definition.json"))["retryStrategy"]["evaluateOnExit"];
  EXPECT_EQ(rules, nlohmann::json::parse(R"([{"onExitCode": "75", "action": "RETRY"},
      {"onStatusReason": "Host EC2*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}])"));
  std::string aws =
      "env AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_EC2_METADATA_DISABLED=true /usr/bin/aws "
      "--endpoint-url http://127.0.0.1:9 --region us-east-1 --cli-connect-timeout 2 batch ";
  auto reg = run_command(
      aws + "register-job-definition --cli-input-json file://" + (dir / "job-definition.json").string(), 60);
  EXPECT_EQ(reg.status, 255) << reg.output;
  auto sub = run_command(aws + "submit-job --cli-input-json file://" + (dir / "submit-job.json").string(), 60);
  EXPECT_EQ(sub.status, 255) << sub.output;
  // And the check is real: a request missing a required field is refused on the client.
  auto def = nlohmann::json::parse(std::ifstream(dir / "job-definition.json"));
  def.erase("type");
  std::ofstream(dir / "broken.json") << def.dump();
  auto broken =
      run_command(aws + "register-job-definition --cli-input-json file://" + (dir / "broken.json").string(), 60);
  EXPECT_EQ(broken.status, 252) << broken.output;
}

// Exactly what a user types on a Slurm login node: no --gpus-per-node (the partition is asked), no --bin-dir (the
// build beside awsdt, by absolute path), the test case's defaults.
const std::string kSlurmAsTyped = " --cluster slurm -N 1 --tasks-per-node 2";

TEST_F(Jobs, SlurmJobCompletesWithItsExitStatusAndResult) {
  if (!slurm_available()) GTEST_SKIP() << "no Slurm cluster (run under the slurm_cluster fixture: ctest -L slurm)";
  auto run = awsdt("run collectives" + kSlurmAsTyped + " --wait", state_.string(), 240);
  ASSERT_EQ(run.status, 0) << run.output;
  auto id = job_number(run);
  auto jobs = awsdt("jobs", (state_ / "elsewhere").string());
  EXPECT_NE(jobs.output.find("COMPLETED"), std::string::npos) << jobs.output;
  EXPECT_NE(jobs.output.find("result.json"), std::string::npos) << jobs.output;
  auto status = awsdt("status " + id, (state_ / "elsewhere").string());
  EXPECT_NE(status.output.find("COMPLETED"), std::string::npos) << status.output;
  // Rank 0's lines, without srun's label; rank 1 prints no table.
  auto logs = awsdt("logs " + id, (state_ / "elsewhere").string());
  EXPECT_NE(logs.output.find("\n# Avg bus bandwidth"), std::string::npos) << logs.output;
  EXPECT_EQ(logs.output.find("0: "), std::string::npos) << logs.output;
  auto rank1 = awsdt("logs " + id + " --rank 1", (state_ / "elsewhere").string());
  EXPECT_EQ(rank1.status, 0) << rank1.output;
  EXPECT_EQ(rank1.output.find("# Avg bus bandwidth"), std::string::npos) << rank1.output;
  // What was learned from sinfo is in the job's jobspec.json.
  auto job_dir = state_ / "awsdt" / "jobs" / (id + "-awsdt-collectives");
  auto spec = nlohmann::json::parse(std::ifstream(job_dir / "jobspec.json"));
  EXPECT_EQ(spec["gpus_per_node"], 0) << spec;
  EXPECT_EQ(spec["inferred"]["partition"], "debug") << spec;

  auto fail = awsdt("run collectives" + kSlurmAsTyped + " --wait -- -b 1K -e 1K -n 1 --corrupt-result-for-test",
                    state_.string(), 240);
  EXPECT_NE(fail.status, 0) << fail.output;
  EXPECT_NE(awsdt("status " + job_number(fail)).output.find("FAILED"), std::string::npos);
  EXPECT_NE(fail.output.find("awsdt: the last lines of its log"), std::string::npos) << fail.output;
  EXPECT_NE(fail.output.find("wrong elements"), std::string::npos) << fail.output;
}

TEST_F(Jobs, SlurmFsdpRunsAsTyped) {
  if (!slurm_available()) GTEST_SKIP() << "no Slurm cluster (run under the slurm_cluster fixture: ctest -L slurm)";
  auto run = awsdt("run fsdp" + kSlurmAsTyped + " --wait", state_.string(), 240);
  ASSERT_EQ(run.status, 0) << run.output;
  auto logs = awsdt("logs " + job_number(run)).output;
  EXPECT_NE(logs.find("step 20/20 | Loss: "), std::string::npos) << logs;
  auto jobs = awsdt("jobs").output;
  EXPECT_NE(jobs.find("result.json"), std::string::npos) << jobs;
}

TEST_F(Jobs, SlurmCancelEndsInCancelled) {
  if (!slurm_available()) GTEST_SKIP() << "no Slurm cluster (run under the slurm_cluster fixture: ctest -L slurm)";
  auto run =
      awsdt("run collectives" + kSlurmAsTyped + " -- all_reduce -b 1K -e 1K -n 100000000 -w 0 -c 0", state_.string());
  ASSERT_EQ(run.status, 0) << run.output;
  auto id = job_number(run);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto cancel = awsdt("cancel " + id, (state_ / "elsewhere").string());
  EXPECT_NE(cancel.output.find("CANCELLED"), std::string::npos) << cancel.output;
}

// A requeue Slurm refuses (--no-requeue) leaves the job FAILED with 75: awsdt says PREEMPTED.
TEST_F(Jobs, SlurmRefusedRequeueEndsPreempted) {
  if (!slurm_available()) GTEST_SKIP() << "no Slurm cluster (run under the slurm_cluster fixture: ctest -L slurm)";
  auto flags = write_preemptible_case(state_) + " --cluster slurm -N 1 --tasks-per-node 1";
  auto run = awsdt("run preemptible --wait --sbatch-arg=--no-requeue" + flags, state_.string(), 240);
  EXPECT_EQ(run.status, 75) << run.output;
  auto id = job_number(run);
  EXPECT_NE(awsdt("status " + id).output.find("PREEMPTED"), std::string::npos);
  auto logs = awsdt("logs " + id).output;
  EXPECT_NE(logs.find("awsdt: requeue refused"), std::string::npos) << logs;
}

// The whole cycle on a real scheduler: exit 75, scontrol requeue, Slurm's requeue delay (about two minutes),
// the same job id runs again, resumes from its checkpoint and completes. Slow: ctest -R launcher_slurm_requeue.
TEST_F(Jobs, SlurmRequeueOn75ResumesFromTheCheckpoint) {
  if (!slurm_available()) GTEST_SKIP() << "no Slurm cluster (run under the slurm_cluster fixture: ctest -L slurm)";
  auto flags = write_preemptible_case(state_) + " --cluster slurm -N 1 --tasks-per-node 1";
  auto run = awsdt("run preemptible --wait" + flags, state_.string(), 420);
  EXPECT_EQ(run.status, 0) << run.output;
  auto id = job_number(run);
  EXPECT_NE(awsdt("status " + id).output.find("COMPLETED"), std::string::npos);
  auto logs = awsdt("logs " + id).output;  // both runs: the script appends to the log of a requeued job
  EXPECT_NE(logs.find("awsdt: exit 75: checkpointed; requeueing job"), std::string::npos) << logs;
  EXPECT_EQ(occurrences(logs, "stub-trainer args:"), 2) << logs;
  EXPECT_NE(logs.find("resumed from "), std::string::npos) << logs;
}

// awsdt batch-entry as AWS Batch runs it on two nodes (here two processes on this machine).
TEST_F(Jobs, BatchEntryBuildsTheHostfileFromEveryNode) {
  std::string common = " AWS_BATCH_JOB_NUM_NODES=2 AWS_BATCH_JOB_MAIN_NODE_INDEX=0 ";
  std::string tail =
      " batch-entry --tasks-per-node 8 --port 29533 --timeout 20 --print-only "
      "--forward-env FI_PROVIDER,NCCL_DEBUG -- awsdt-collectives -b 8";
  Outcome worker;
  std::thread t([&] {
    worker = run_command("env AWS_BATCH_JOB_NODE_INDEX=1 AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS=127.0.0.1" +
                             common + kAwsdt + tail,
                         60);
  });
  auto main = run_command("env AWS_BATCH_JOB_NODE_INDEX=0" + common + kAwsdt + tail, 60);
  t.join();
  EXPECT_EQ(main.status, 0) << main.output;
  EXPECT_EQ(worker.status, 0) << worker.output;
  std::regex hostfile(R"((\S+) slots=8\n(\S+) slots=8\nmpirun --hostfile \S+ -np 16 .*)"
                      R"( -x PATH -x LD_LIBRARY_PATH -x FI_PROVIDER -x NCCL_DEBUG awsdt-collectives -b 8\n)");
  EXPECT_TRUE(std::regex_search(main.output, hostfile)) << main.output;
  auto missing = run_command(kAwsdt + tail);
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("AWS_BATCH_JOB_NODE_INDEX is not set"), std::string::npos) << missing.output;
}

// A worker arrives at the rendezvous only once its sshd listens: the main node's mpirun connects at once.
TEST_F(Jobs, BatchEntryWorkerArrivesOnlyOnceSshdListens) {
  std::string env = "env AWS_BATCH_JOB_NUM_NODES=2 AWS_BATCH_JOB_MAIN_NODE_INDEX=0 ";
  std::string worker_env = env + "AWS_BATCH_JOB_NODE_INDEX=1 AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS=127.0.0.1 ";
  std::string tail = " --tasks-per-node 1 --port 29534 --timeout 6 --ssh-port 29535 -- true";
  // An sshd that never listens: the worker says so and never arrives, so the main node never starts mpirun.
  auto dead = state_ / "dead-sshd";
  std::ofstream(dead) << "#!/bin/bash\nsleep 1\nexit 3\n";
  fs::permissions(dead, fs::perms::owner_all);
  Outcome worker;
  std::thread t([&] { worker = run_command(worker_env + kAwsdt + " batch-entry --sshd " + dead.string() + tail, 60); });
  auto main = run_command(env + "AWS_BATCH_JOB_NODE_INDEX=0 " + kAwsdt + " batch-entry --print-only" + tail, 60);
  t.join();
  EXPECT_NE(worker.status, 0) << worker.output;
  EXPECT_NE(worker.output.find(dead.string() + " ended (status 3) before listening on "), std::string::npos)
      << worker.output;
  EXPECT_NE(main.status, 0) << main.output;
  EXPECT_EQ(main.output.find("mpirun"), std::string::npos) << main.output;
  // One that listens after a second (and ends after one connection): the worker waits for it, then arrives,
  // then serves until sshd ends.
  if (run_command("python3 -c 1").status != 0) GTEST_SKIP() << "python3 (the stub sshd) is not available";
  auto slow = state_ / "slow-sshd";
  std::ofstream(slow) << "#!/bin/bash\nsleep 1\nexec python3 -c 'import socket; s = socket.socket(); "
                         "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"\", 29535)); "
                         "s.listen(); s.accept()'\n";
  fs::permissions(slow, fs::perms::owner_all);
  std::thread t2(
      [&] { worker = run_command(worker_env + kAwsdt + " batch-entry --sshd " + slow.string() + tail, 60); });
  main = run_command(env + "AWS_BATCH_JOB_NODE_INDEX=0 " + kAwsdt + " batch-entry --print-only" + tail, 60);
  t2.join();
  EXPECT_EQ(worker.status, 0) << worker.output;
  EXPECT_EQ(main.status, 0) << main.output;
  EXPECT_NE(main.output.find("mpirun --hostfile"), std::string::npos) << main.output;
}
