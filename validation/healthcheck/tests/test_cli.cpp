// awsdt-healthcheck as users and Slurm run it: the documented commands on a fake node (exit statuses, table, JSON
// written atomically, drain reason), usage errors, a hanging check, `awsdt list` and `awsdt run healthcheck` (the
// cluster suite over 2 ranks naming a rank slowed by the test hook), and the Slurm prolog on the real test cluster
// (tests Slurm*: fixture slurm_cluster): a healthy node runs a job; a node with a fault is drained with the check
// in `sinfo -R` and the job does not run there; the HealthCheckProgram resumes it once the fault is gone.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "awsdt/config.hpp"
#include "check_runner.hpp"
#include "checks/checks.hpp"
#include "fake_tree.hpp"
#include "support/executables.hpp"
#include "support/run_command.hpp"

namespace awsdt::health {
namespace {

namespace fs = std::filesystem;
using awsdt::testing::Outcome;
using awsdt::testing::run_command;
using testing::FakeNode;

const std::string kHc = awsdt::testing::built_executable("awsdt-healthcheck");
const std::string kAwsdt = awsdt::testing::built_executable("awsdt");

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

class Cli : public ::testing::Test {
 protected:
  FakeNode node;
  // The flags of docs/healthcheck.md's prolog example, on the fake node (tcp stands in for the EFA provider).
  Outcome hc(const std::string& args) { return run_command(kHc + node.flags() + "--efa-provider tcp " + args, 60); }
};

TEST_F(Cli, HealthyNodePassesThePrologSuite) {
  auto o = hc("--suite prolog --require-mount /fsx");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("p5.48xlarge"), std::string::npos) << o.output;
  for (const char* id : {"gpu-inventory", "gpu-ecc", "gpu-xid", "efa-devices", "efa-provider", "shm", "mounts"})
    EXPECT_NE(o.output.find(id), std::string::npos) << id;
  EXPECT_NE(o.output.find("result: PASS"), std::string::npos) << o.output;
}

struct Fault {
  std::string what;
  std::function<void(FakeNode&)> inject;
  std::string args;
  int status;
  std::string check, severity;
};

TEST_F(Cli, FaultsGiveTheirExitStatusJsonAndReason) {
  std::vector<Fault> faults{
      {"DBE", [](FakeNode& n) { n.nvml["gpus"][1]["retired_pages"]["dbe"] = 1; }, "--suite prolog", 5, "gpu-ecc",
       "ISOLATE"},
      {"Xid 79",
       [](FakeNode& n) { n.kernel_log("NVRM: Xid (PCI:0000:53:00): 79, pid=0, GPU has fallen off the bus."); },
       "--suite prolog", 4, "gpu-xid", "REBOOT"},
      {"NVLink down", [](FakeNode& n) { n.nvml["gpus"][0]["nvlinks"][3] = 0; }, "--check nvlink", 3, "nvlink", "RESET"},
      {"persistence", [](FakeNode& n) { n.nvml["gpus"][0]["persistence"] = 0; }, "--check gpu-inventory", 0,
       "gpu-inventory", "MONITOR"},
      {"missing EFA", [](FakeNode& n) { n.remove("/sys/class/infiniband/rdmap20s0"); }, "--suite prolog", 5,
       "efa-devices", "ISOLATE"},
      {"missing mount", [](FakeNode&) {}, "--suite prolog --require-mount /scratch", 5, "mounts", "ISOLATE"},
  };
  for (auto& f : faults) {
    FakeNode n;
    f.inject(n);
    auto out = n.dir() / "out.json", reason = n.dir() / "reason";
    auto o = run_command(kHc + n.flags() + "--efa-provider tcp " + f.args + " --output " + out.string() +
                             " --reason-file " + reason.string(),
                         60);
    EXPECT_EQ(o.status, f.status) << f.what << "\n" << o.output;
    auto doc = nlohmann::json::parse(read(out));
    EXPECT_EQ(doc["summary"]["exit_status"], f.status) << f.what;
    EXPECT_EQ(doc["summary"]["severity"], f.severity) << f.what;
    EXPECT_EQ(doc["instance_type"], "p5.48xlarge");
    bool found = false;
    for (const auto& c : doc["checks"])
      if (c["check"] == f.check) found = c["severity"] == f.severity;
    EXPECT_TRUE(found) << f.what << ": " << doc.dump(1);
    if (f.status >= 4)
      EXPECT_EQ(read(reason).rfind("awsdt-healthcheck: " + f.check + " " + f.severity, 0), 0u) << read(reason);
    else
      EXPECT_EQ(read(reason), "\n") << f.what;
  }
}

TEST_F(Cli, JsonOnStdout) {
  auto o = hc("--suite prolog --json");
  auto doc = nlohmann::json::parse(o.output);
  for (const char* key : {"timestamp", "host", "instance_type", "suite", "checks", "summary"})
    EXPECT_TRUE(doc.contains(key)) << key;
  EXPECT_EQ(doc["checks"].size(), 7u);
  for (const auto& c : doc["checks"])
    for (const char* key : {"check", "status", "severity", "details", "measured", "seconds"})
      EXPECT_TRUE(c.contains(key)) << key;
}

TEST_F(Cli, BadInputIsOneLineAndExit2) {
  struct Bad {
    std::string args, says;
  };
  for (const auto& b :
       std::vector<Bad>{{"--suite bogus", "bogus"},
                        {"--check bogus", "--check 'bogus' is not a check; known: gpu-inventory"},
                        {"--suite intensive", "needs the node to itself"},
                        {"--instance-type p9.bogus", "--instance-type 'p9.bogus' is not in the instance catalog"},
                        {"--suite prolog --output /nonexistent/dir/out.json", "/nonexistent/dir"}}) {
    auto o = hc(b.args);
    EXPECT_NE(o.status, 0) << b.args;
    if (b.args.find("--output") == std::string::npos) EXPECT_EQ(o.status, 2) << b.args << "\n" << o.output;
    EXPECT_NE(o.output.find(b.says), std::string::npos) << b.args << "\n" << o.output;
  }
}

TEST_F(Cli, HangingCheckFailsAtTheTimeoutAndTheRunEnds) {
  node.nvml["hang_in"] = "nvmlDeviceGetPersistenceMode";
  auto o = hc("--check gpu-inventory --timeout 1");
  EXPECT_EQ(o.status, 3) << o.output;  // RESET
  EXPECT_NE(o.output.find("did not finish within 1 s"), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 10);
}

TEST_F(Cli, ListShowsEverySeverity) {
  auto o = run_command(kHc + " --list");
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.output.find("retired_dbe=ISOLATE"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("cluster-allreduce"), std::string::npos);
}

// `awsdt` finds the health check among the validation tools and runs it.
class Launcher : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = fs::temp_directory_path() / ("awsdt_hc_state_" + std::to_string(::getpid()));
    fs::create_directories(state_);
  }
  void TearDown() override { fs::remove_all(state_); }
  Outcome awsdt(const std::string& args) {
    return run_command("env XDG_STATE_HOME=" + state_.string() + " " + kAwsdt + " " + args, 180, "/");
  }
  fs::path state_;
};

TEST_F(Launcher, ListShowsHealthcheck) {
  auto o = awsdt("list");
  EXPECT_NE(o.output.find("healthcheck  awsdt-healthcheck"), std::string::npos) << o.output;
}

TEST_F(Launcher, RunsThePrologSuite) {
  FakeNode n;
  auto o = awsdt("run healthcheck --" + n.flags() + "--suite prolog --efa-provider tcp");
  EXPECT_NE(o.output.find("result: PASS"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("COMPLETED (exit code 0)"), std::string::npos) << o.output;
}

TEST_F(Launcher, ClusterSuiteNamesTheSlowRank) {
  for (int slow : {1, 0}) {
    auto o = awsdt(
        "run healthcheck --tasks-per-node 2 -- --suite cluster --cluster-bytes 4M --min-busbw-gbs 1000 "
        "--test-slow-rank " +
        std::to_string(slow));
    EXPECT_NE(o.output.find("slowest node: rank " + std::to_string(slow)), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("over 2 ranks"), std::string::npos) << o.output;
  }
  auto ok = awsdt("run healthcheck --tasks-per-node 2 -- --suite cluster --cluster-bytes 1M --min-busbw-gbs 0.0001");
  EXPECT_NE(ok.output.find("cluster-allreduce  PASS"), std::string::npos) << ok.output;
}

// On a GPU instance type a node check still runs once per node: one rank, which sees the node's GPUs (still
// requested); --tasks-per-node overrides it.
TEST_F(Launcher, GpuInstanceTypeGetsOneRankPerNode) {
  auto dir = state_ / "render-p5";
  auto o = awsdt("render healthcheck --cluster slurm -N 16 --instance-type p5.48xlarge -o " + dir.string());
  ASSERT_EQ(o.status, 0) << o.output;
  auto sbatch = read(dir / "job.sbatch");
  EXPECT_NE(sbatch.find("#SBATCH --ntasks-per-node=1\n"), std::string::npos) << sbatch;
  EXPECT_NE(sbatch.find("#SBATCH --gpus-per-node=8\n"), std::string::npos) << sbatch;
  EXPECT_NE(sbatch.find("#SBATCH --nodes=16\n"), std::string::npos) << sbatch;
  o = awsdt("render healthcheck --cluster slurm -N 2 --instance-type p5.48xlarge --tasks-per-node 8 -o " +
            (state_ / "render-p5-8").string());
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(read(state_ / "render-p5-8/job.sbatch").find("#SBATCH --ntasks-per-node=8\n"), std::string::npos);
}

// node-allreduce on this machine's CPUs: awsdt-collectives under its own mpirun, also from inside a rank that
// `awsdt run` started with mpirun (the outer launch's variables must not reach the inner one).
class NodeAllreduce : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!AWSDT_HAVE_MPI) GTEST_SKIP() << "built without MPI: node-allreduce has no CPU ranks";
    ::setenv("OMPI_MCA_btl", "self,vader,tcp", 1);  // as the tests' mpirun: loopback only
    ::setenv("OMPI_MCA_btl_tcp_if_include", "lo", 1);
    ctx = node.context();
    ctx.settings.collectives = awsdt::testing::built_executable("awsdt-collectives");
    ctx.settings.node_bytes = 1 << 20;
    ctx.settings.node_iters = 5;
  }
  health::Outcome run(const Context& c) {
    return run_in_process(check_info("node-allreduce"), check_function("node-allreduce"), c);
  }
  FakeNode node;
  Context ctx;
};

TEST_F(NodeAllreduce, PassesAboveTheFloorAndWarnsBelow) {
  ctx.settings.node_min_busbw_gbs = 1e-6;
  auto ok = run(ctx);
  EXPECT_EQ(ok.status(), "PASS") << ok.details();
  auto m = ok.to_json()["measured"];
  EXPECT_GT(m["busbw_gbs"].get<double>(), 0) << m;
  EXPECT_EQ(m["ranks"], 2);
  ctx.settings.node_min_busbw_gbs = 1e6;  // a petabyte a second: unreachable
  auto slow = run(ctx);
  EXPECT_EQ(slow.status(), "WARN") << slow.details();
  EXPECT_EQ(std::string(severity_name(slow.severity())), "MONITOR");
  EXPECT_NE(slow.details().find("over 2 CPU ranks at 1048576 bytes, below 1000000.00"), std::string::npos)
      << slow.details();
  // Without --node-min-busbw-gbs, CPU ranks are not held to the catalog's NVLink floor (p5.48xlarge: 500 GB/s).
  ctx.settings.node_min_busbw_gbs = 0;
  auto unchecked = run(ctx);
  EXPECT_EQ(unchecked.status(), "PASS");
  EXPECT_NE(unchecked.details().find("(no floor: --node-min-busbw-gbs)"), std::string::npos) << unchecked.details();
}

TEST_F(NodeAllreduce, BenchmarkThatFailsResets) {
  ctx.settings.collectives = "/bin/false";
  auto o = run(ctx);
  EXPECT_EQ(std::string(severity_name(o.severity())), "RESET") << o.details();
  EXPECT_NE(o.details().find("exited 1"), std::string::npos) << o.details();
  ctx.settings.collectives = awsdt::testing::built_executable("awsdt-collectives");
  ctx.settings.mpirun = "/nonexistent/mpirun";
  auto missing = run(ctx);
  EXPECT_EQ(std::string(severity_name(missing.severity())), "RESET");
  EXPECT_NE(missing.details().find("mpirun all_reduce exited 127"), std::string::npos) << missing.details();
}

TEST_F(Launcher, IntensiveNodeAllreduceInsideAnMpirunRank) {
  if (!AWSDT_HAVE_MPI) GTEST_SKIP() << "built without MPI";
  FakeNode n;
  auto o =
      awsdt("run healthcheck --env OMPI_MCA_btl=self,vader,tcp --env OMPI_MCA_btl_tcp_if_include=lo --" + n.flags() +
            "--check node-allreduce --exclusive --node-bytes 1M --node-iters 5 " + "--node-min-busbw-gbs 0.000001");
  EXPECT_NE(o.output.find("node-allreduce  PASS"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("COMPLETED (exit code 0)"), std::string::npos) << o.output;
}

// The install files as docs/healthcheck.md renders them: the slurm.conf lines name scripts that exist, and the
// DaemonSet validates against Kubernetes' schemas (when tools/setup.sh's .venv-tools is there).
TEST_F(Launcher, RendersTheNodeHealthService) {
  auto dir = state_ / "render";
  fs::create_directories(dir);
  auto o = run_command(kAwsdt + " render node-health --cluster slurm -- --require-mount /fsx", 60, dir.string());
  ASSERT_EQ(o.status, 0) << o.output;
  auto conf = read(dir / "awsdt-node-health-slurm/slurm.conf");
  for (const char* key : {"Prolog=", "Epilog=", "HealthCheckProgram="}) {
    auto at = conf.find(std::string("\n") + key);
    ASSERT_NE(at, std::string::npos) << key << "\n" << conf;
    auto path = conf.substr(at + 1 + std::strlen(key), conf.find('\n', at + 1) - at - 1 - std::strlen(key));
    EXPECT_TRUE(fs::exists(path)) << path;
  }
  EXPECT_NE(read(dir / "awsdt-node-health-slurm/healthcheck.env").find("AWSDT_HEALTHCHECK_ARGS='--require-mount /fsx'"),
            std::string::npos);
  o = run_command(kAwsdt + " render node-health --cluster eks --container public.ecr.aws/example/awsdt:1 -- " +
                      "--require-mount /fsx",
                  60, dir.string());
  ASSERT_EQ(o.status, 0) << o.output;
  auto yaml = dir / "awsdt-node-health-eks/node-health.yaml";
  EXPECT_NE(read(yaml).find("- \"--require-mount\""), std::string::npos) << read(yaml);
  fs::path venv = fs::path(HC_SOURCE_DIR) / "../../../.venv-tools/bin/python";
  if (!fs::exists(venv)) GTEST_SKIP() << "no .venv-tools: the DaemonSet was not validated against the schemas";
  auto v = run_command(venv.string() + " " + HC_SOURCE_DIR + "/../../../tests/lint/validate_k8s.py --crds " +
                       HC_SOURCE_DIR + "/../../../tests/fixtures/crds " + yaml.string());
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(v.output.find("valid (ClusterRole, ClusterRoleBinding, DaemonSet, ServiceAccount)"), std::string::npos)
      << v.output;
}

// ---- Slurm: the prolog on the real test cluster (SLURM_CONF set by the fixture) ----

class SlurmProlog : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("SLURM_CONF")) GTEST_SKIP() << "no Slurm test cluster (SLURM_CONF unset)";
    cluster_ = fs::path(std::getenv("SLURM_CONF")).parent_path();
    results_ = node.dir() / "results";
    // The prolog runs under slurmd, without our environment: everything it needs is in the armed script.
    std::ofstream(cluster_ / "prolog.armed.tmp")
        << "#!/bin/sh\nexport SLURM_CONF=" << std::getenv("SLURM_CONF") << " AWSDT_HEALTHCHECK=" << kHc
        << " AWSDT_HEALTHCHECK_DIR=" << results_.string() << " AWSDT_FAKE_NVML=" << node.nvml_file()
        << "\nexport AWSDT_HEALTHCHECK_ARGS='" << node.flags() << "--efa-provider tcp'\nexec " << HC_SOURCE_DIR
        << "/../../slurm/prolog.sh\n";
    fs::permissions(cluster_ / "prolog.armed.tmp",
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
    fs::rename(cluster_ / "prolog.armed.tmp", cluster_ / "prolog.armed");
  }
  void TearDown() override {
    if (cluster_.empty()) return;
    fs::remove(cluster_ / "prolog.armed");
    run_command("scancel --quiet --name=awsdt-hc-test; scontrol update nodename=localhost state=resume");
  }
  // Submits a job that writes `marker`; returns its id.
  std::string submit(const fs::path& marker) {
    auto o = run_command("sbatch --parsable --job-name=awsdt-hc-test --output=/dev/null --chdir=/ --wrap 'touch " +
                         marker.string() + "'");
    EXPECT_EQ(o.status, 0) << o.output;
    return o.output.substr(0, o.output.find_first_of(";\n"));
  }
  // Polls `command` until its output contains `what` (true) or `seconds` pass (false).
  static bool wait_for(const std::string& command, const std::string& what, int seconds) {
    for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
         std::chrono::steady_clock::now() < end; std::this_thread::sleep_for(std::chrono::milliseconds(200)))
      if (run_command(command, 10).output.find(what) != std::string::npos) return true;
    return false;
  }
  FakeNode node;
  fs::path cluster_, results_;
};

TEST_F(SlurmProlog, DrainsAFaultyNodeAndTheJobDoesNotRunThere) {
  // Healthy: the job runs.
  auto healthy = node.dir() / "healthy";
  auto id = submit(healthy);
  ASSERT_TRUE(wait_for("scontrol show job -o " + id, "JobState=COMPLETED", 60))
      << run_command("scontrol show job -o " + id).output << read(results_ / ("prolog-" + id + ".log"));
  EXPECT_TRUE(fs::exists(healthy));

  // A double-bit ECC error: the prolog drains the node naming the check, and the job does not run.
  node.nvml["gpus"][4]["retired_pages"]["dbe"] = 3;
  node.save_nvml();
  auto faulty = node.dir() / "faulty";
  id = submit(faulty);
  ASSERT_TRUE(wait_for("sinfo -h -R -o '%n|%E'", "awsdt-healthcheck: gpu-ecc ISOLATE: GPU 4: 3 pages retired", 60))
      << run_command("sinfo -R; scontrol show node localhost").output;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_FALSE(fs::exists(faulty));
  auto job = run_command("scontrol show job -o " + id).output;
  EXPECT_EQ(job.find("JobState=COMPLETED"), std::string::npos) << job;
  EXPECT_NE(run_command("sinfo -h -n localhost -o %t").output.find("drain"), std::string::npos);
  run_command("scancel " + id);

  // Fault removed: the HealthCheckProgram wrapper sees every check pass and resumes the node; jobs run again.
  node.nvml["gpus"][4]["retired_pages"]["dbe"] = 0;
  node.save_nvml();
  auto resume = run_command("env SLURMD_NODENAME=localhost AWSDT_HEALTHCHECK=" + kHc +
                            " AWSDT_HEALTHCHECK_DIR=" + results_.string() + " AWSDT_HEALTHCHECK_ARGS='" + node.flags() +
                            "--efa-provider tcp --min-free-disk-gib 0.001' " + HC_SOURCE_DIR +
                            "/../../slurm/healthcheck_program.sh");
  EXPECT_EQ(resume.status, 0) << resume.output;
  EXPECT_TRUE(wait_for("sinfo -h -n localhost -o %t", "idle", 30)) << run_command("sinfo -R").output << resume.output;
  auto after = node.dir() / "after";
  id = submit(after);
  EXPECT_TRUE(wait_for("scontrol show job -o " + id, "JobState=COMPLETED", 60))
      << run_command("scontrol show job -o " + id).output;
  EXPECT_TRUE(fs::exists(after));
}

}  // namespace
}  // namespace awsdt::health
