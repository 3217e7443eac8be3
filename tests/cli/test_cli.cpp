// Smoke tests of the awsdt launcher as a user runs it: --help, --version, list, versions --json, run, and
// clear errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/executables.hpp"
#include "support/run_command.hpp"

using awsdt::testing::run_command;

namespace {
const std::string kAwsdt = awsdt::testing::built_executable("awsdt");
}

TEST(Cli, HelpListsTheSubcommands) {
  auto o = run_command(kAwsdt + " --help");
  EXPECT_EQ(o.status, 0) << o.output;
  for (const char* sub : {"list", "versions", "run"}) EXPECT_NE(o.output.find(sub), std::string::npos) << sub;
}

TEST(Cli, VersionNamesTheReleaseAndCommit) {
  auto o = run_command(kAwsdt + " --version");
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.output.rfind(std::string("awsdt ") + AWSDT_VERSION + " (git ", 0), 0u) << o.output;
}

TEST(Cli, ListShowsEveryManifestWithADescription) {
  auto o = run_command(kAwsdt + " list --json");
  ASSERT_EQ(o.status, 0) << o.output;
  auto j = nlohmann::json::parse(o.output);
  bool collectives = false;
  for (const auto& m : j) {
    EXPECT_FALSE(m["description"].get<std::string>().empty());
    collectives |= m["name"] == "collectives";
  }
  EXPECT_TRUE(collectives) << o.output;
  auto table = run_command(kAwsdt + " list");
  EXPECT_NE(table.output.find("awsdt-collectives"), std::string::npos) << table.output;
}

TEST(Cli, VersionsJsonParsesAndNamesEveryComponent) {
  auto o = run_command(kAwsdt + " versions --json");
  ASSERT_EQ(o.status, 0) << o.output;
  auto j = nlohmann::json::parse(o.output);
  for (const char* c : {"awsdt", "cuda_runtime", "cuda_driver", "nccl", "mpi", "libfabric", "efa_installer"}) {
    ASSERT_TRUE(j.contains(c)) << c;
    EXPECT_TRUE(j[c].contains("compiled") && j[c].contains("runtime")) << c;
  }
}

TEST(Cli, RunStartsALocalJobAndReturnsItsStatus) {
  auto state = std::filesystem::temp_directory_path() / "awsdt_cli_state";
  std::string awsdt = "env XDG_STATE_HOME=" + state.string() + " " + kAwsdt;
  auto o = run_command(awsdt + " run collectives --follow -- all_reduce -b 1K -e 4K -f 2 -n 2");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("# Avg bus bandwidth"), std::string::npos) << o.output;
  auto fail = run_command(awsdt + " run collectives --wait -- all_reduce -b 1K -e 1K -n 1 --corrupt-result-for-test");
  std::filesystem::remove_all(state);
  EXPECT_NE(fail.status, 0) << fail.output;
}

TEST(Cli, BadInputGetsOneClearLine) {
  auto unknown = run_command(kAwsdt + " run no_such_case");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.output.find("unknown test case 'no_such_case'; known: collectives"), std::string::npos)
      << unknown.output;
  auto flag = run_command(kAwsdt + " list --frobnicate");
  EXPECT_EQ(flag.status, 2);
  EXPECT_NE(flag.output.find("--frobnicate"), std::string::npos) << flag.output;
  auto dir = run_command(kAwsdt + " list --test-cases /nonexistent/dir");
  EXPECT_EQ(dir.status, 2);
  EXPECT_NE(dir.output.find("'/nonexistent/dir' is not a directory"), std::string::npos) << dir.output;

  auto tmp = std::filesystem::temp_directory_path() / "awsdt_bad_manifests";
  std::filesystem::create_directories(tmp / "broken");
  std::ofstream(tmp / "broken" / "test_case.json") << "{\"name\": \"broken\"";
  auto broken = run_command(kAwsdt + " list --test-cases " + tmp.string());
  EXPECT_EQ(broken.status, 2);
  EXPECT_NE(broken.output.find("test_case.json' is not valid JSON"), std::string::npos) << broken.output;
  std::filesystem::remove_all(tmp);

  // A typo in a --templates file: refused before anything is written.
  auto templates = std::filesystem::temp_directory_path() / "awsdt_cli_templates";
  std::filesystem::create_directories(templates / "slurm");
  std::ofstream(templates / "slurm" / "sbatch.sh.mustache") << "#!/bin/bash\n#SBATCH --nodes={{{nodez}}}\n";
  auto out = templates / "out";
  auto typo = run_command(kAwsdt + " render collectives --cluster slurm --gpus-per-node 0 --templates " +
                          templates.string() + " -o " + out.string());
  EXPECT_EQ(typo.status, 2);
  EXPECT_EQ(typo.output,
            "error: template 'slurm/sbatch.sh.mustache' uses {{nodez}}, which awsdt does not define for "
            "it; use the names the built-in template uses\n");
  EXPECT_FALSE(std::filesystem::exists(out));
  std::filesystem::remove_all(templates);
}

// Rendered files are what `run` submits: the trainer writes its result document and checkpoints into the job
// directory (a job started from rendered files otherwise leaves no result.json).
TEST(Cli, RenderWritesWhatRunWouldSubmit) {
  auto out = std::filesystem::temp_directory_path() / "awsdt_cli_render";
  std::filesystem::remove_all(out);
  auto o = run_command(kAwsdt + " render fsdp --cluster local -o " + out.string());
  ASSERT_EQ(o.status, 0) << o.output;
  std::ifstream in(out / "run.sh");
  const std::string script((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(script.find("--output " + (out / "result.json").string()), std::string::npos) << script;
  EXPECT_NE(script.find("--checkpoint-dir " + (out / "checkpoints").string()), std::string::npos) << script;
  std::filesystem::remove_all(out);
}

namespace {

// A scratch directory and `awsdt` with its own job database in it.
struct Scratch {
  std::filesystem::path dir;
  explicit Scratch(const std::string& name) : dir(std::filesystem::temp_directory_path() / ("awsdt_cli_" + name)) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
  awsdt::testing::Outcome awsdt(const std::string& args, const std::string& env = "") const {
    return run_command("env XDG_STATE_HOME=" + dir.string() + " " + env + " " + kAwsdt + " " + args);
  }
  std::string file(const std::string& name) const {
    std::ifstream in(dir / name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};

const std::string kBinDir = std::filesystem::path(kAwsdt).parent_path().string();

}  // namespace

// Without a container a Slurm job runs the executables beside the awsdt that rendered it, by absolute path: the
// nodes' PATH has no build directory on it (execve(): No such file or directory).
TEST(Cli, SlurmJobsRunTheBuildBesideAwsdtByAbsolutePath) {
  Scratch s("slurm_path");
  auto r = s.awsdt("render collectives --cluster slurm -N 1 --tasks-per-node 2 -o " + s.dir.string() + "/out");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(s.file("out/job.sbatch").find(" " + kBinDir + "/awsdt-collectives "), std::string::npos)
      << s.file("out/job.sbatch");
  auto missing = s.awsdt("run collectives --cluster slurm -N 1 --bin-dir /nonexistent/bin --dry-run");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("error: /nonexistent/bin/awsdt-collectives does not exist"), std::string::npos)
      << missing.output;
  auto dry = s.awsdt("run collectives --cluster slurm -N 1 --dry-run");
  EXPECT_EQ(dry.status, 0) << dry.output;
  auto fs_type = run_command("stat -f -c %T " + kBinDir).output;
  if (fs_type.find("nfs") == std::string::npos && fs_type.find("lustre") == std::string::npos)  // a local disk
    EXPECT_NE(dry.output.find(kBinDir + " is on "), std::string::npos) << dry.output << fs_type;
}

// No --instance-type and no Slurm to ask: no GPUs requested (sbatch refuses a GRES the nodes lack), and the
// job's jobspec.json says why.
TEST(Cli, SlurmWithoutInstanceTypeRequestsNoGpusItCannotConfirm) {
  Scratch s("slurm_gres");
  auto r = s.awsdt("render collectives --cluster slurm -N 1 -o " + s.dir.string() + "/out", "SLURM_CONF=/nonexistent");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("requesting no GPUs"), std::string::npos) << r.output;
  EXPECT_EQ(s.file("out/job.sbatch").find("--gpus-per-node"), std::string::npos) << s.file("out/job.sbatch");
  auto spec = nlohmann::json::parse(s.file("out/jobspec.json"));
  EXPECT_EQ(spec["gpus_per_node"], 0);
  EXPECT_NE(spec["inferred"]["source"].get<std::string>().find("no Slurm configuration"), std::string::npos) << spec;
}

// `-- --steps 10` changes the steps and keeps the model; `-- -b 1M -e 1G` keeps `-f 2`. render prints the result.
TEST(Cli, ArgumentsAfterDashDashMergeOntoTheDefaults) {
  Scratch s("merge");
  auto fsdp = s.awsdt("render fsdp --cluster slurm -N 1 --instance-type p5.48xlarge -o " + s.dir.string() +
                      "/fsdp -- --steps 10");
  ASSERT_EQ(fsdp.status, 0) << fsdp.output;
  EXPECT_NE(fsdp.output.find("command: " + kBinDir + "/awsdt-fsdp --model llama3_1_8b --seq-len 8192 "),
            std::string::npos)
      << fsdp.output;
  EXPECT_NE(fsdp.output.find(" --steps 10 "), std::string::npos) << fsdp.output;
  EXPECT_EQ(fsdp.output.find("--steps 50"), std::string::npos) << fsdp.output;
  auto coll = s.awsdt("render collectives -o " + s.dir.string() + "/coll -- -b 1M -e 1G");
  ASSERT_EQ(coll.status, 0) << coll.output;
  EXPECT_NE(coll.output.find("awsdt-collectives all_reduce -f 2 -c 1 -b 1M -e 1G -J "), std::string::npos)
      << coll.output;
}

// The benchmark checks its own arguments on this machine before anything is submitted: one line, exit 2.
TEST(Cli, RunRefusesArgumentsTheBenchmarkRefusesBeforeSubmitting) {
  Scratch s("check_args");
  auto slurm = s.awsdt("run fsdp --cluster slurm -N 1 --dry-run -- --model llama3_8b");
  EXPECT_EQ(slurm.status, 2) << slurm.output;
  EXPECT_NE(slurm.output.find("error: awsdt-fsdp: --model: unknown model preset 'llama3_8b' (known: tiny,"),
            std::string::npos)
      << slurm.output;
  EXPECT_LT(slurm.seconds, 10);
  auto local = s.awsdt("run collectives --wait -- -b 1G -e 1K");
  EXPECT_EQ(local.status, 2) << local.output;
  EXPECT_NE(local.output.find("error: awsdt-collectives: -b/--minbytes 1073741824 is larger than -e/--maxbytes 1024"),
            std::string::npos)
      << local.output;
  EXPECT_EQ(s.awsdt("jobs").output.find("collectives"), std::string::npos) << "a refused job was recorded";
}

// A benchmark's flag typed without `--` is named with its program and the `--` it needs (CLI11 said only "The
// following argument was not expected: -b"); an nccl-tests flag awsdt-collectives does not implement is refused
// with the reason before anything is submitted.
TEST(Cli, BenchmarkFlagsBeforeDashDashGetAHint) {
  Scratch s("dashdash");
  auto run = s.awsdt("run collectives -b 1M -e 1G");
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_EQ(run.output,
            "error: -b is a flag of awsdt-collectives, not of awsdt run: put it after --, as in `awsdt run "
            "collectives -- -b ...`\n");
  auto render = s.awsdt("render collectives --cluster slurm -N 1 --iters 5 -o " + s.dir.string() + "/r");
  EXPECT_EQ(render.status, 2) << render.output;
  EXPECT_NE(render.output.find("--iters is a flag of awsdt-collectives, not of awsdt render"), std::string::npos)
      << render.output;
  auto typo = s.awsdt("run collectives --nodse 2");
  EXPECT_EQ(typo.status, 2) << typo.output;
  EXPECT_NE(typo.output.find("awsdt run has no flag --nodse"), std::string::npos) << typo.output;
  auto threads = s.awsdt("run collectives --cluster slurm -N 1 --dry-run -- -t 2");
  EXPECT_EQ(threads.status, 2) << threads.output;
  EXPECT_NE(threads.output.find("error: awsdt-collectives: -t/--nthreads 2: awsdt-collectives drives each"),
            std::string::npos)
      << threads.output;
  EXPECT_EQ(s.awsdt("jobs").output.find("collectives"), std::string::npos) << "a refused job was recorded";
}

// EKS as a user renders it: a PersistentVolumeClaim as the shared mount, GPU and EFA taints tolerated, and the
// checkpoints and result under the mount without the rendering machine's directories (they held
// /fsx/awsdt-checkpoints/<this machine's output directory>).
TEST(Cli, EksMountsAClaimToleratesGpuTaintsAndKeepsThisMachinesPathsOut) {
  Scratch s("eks_pvc");
  const std::string out = s.dir.string() + "/out";
  auto r = s.awsdt(
      "render fsdp --cluster eks -N 2 --instance-type p5.48xlarge --container registry.example/awsdt:1 "
      "--mount pvc:fsx-claim:/fsx -o " +
          out,
      "USER=alice");
  ASSERT_EQ(r.status, 0) << r.output;
  auto yaml = s.file("out/mpijob.yaml");
  EXPECT_NE(yaml.find("persistentVolumeClaim:\n                claimName: \"fsx-claim\""), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("hostPath"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("mountPath: \"/fsx\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("- key: nvidia.com/gpu\n              operator: Exists\n              effect: NoSchedule"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("- key: vpc.amazonaws.com/efa"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("\"/fsx/awsdt/alice/jobs/out/checkpoints\""), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find(s.dir.string()), std::string::npos) << "the rendering machine's directory leaked: " << yaml;
  auto hostpath = s.awsdt(
      "render collectives --cluster eks -N 2 --instance-type p5.48xlarge --container "
      "registry.example/awsdt:1 --mount /fsx:/fsx -o " +
          out + "2",
      "USER=alice");
  ASSERT_EQ(hostpath.status, 0) << hostpath.output;
  auto y2 = s.file("out2/mpijob.yaml");
  EXPECT_NE(y2.find("hostPath:\n                path: \"/fsx\""), std::string::npos) << y2;
  EXPECT_NE(y2.find("\"/fsx/awsdt/alice/jobs/out2/result.json\""), std::string::npos) << y2;
  auto slurm =
      s.awsdt("render collectives --cluster slurm -N 1 --container img:1 --mount pvc:fsx-claim:/fsx -o " + out);
  EXPECT_EQ(slurm.status, 2) << slurm.output;
  EXPECT_NE(slurm.output.find("mounts a PersistentVolumeClaim, which only --cluster eks and hyperpod-eks have"),
            std::string::npos)
      << slurm.output;
}

// Slurm jobs go to a shared filesystem when one is known (AWSDT_JOB_ROOT here), and a multi-node job that
// checkpoints onto a local disk is refused: the other nodes would resume from nothing.
TEST(Cli, SlurmJobDirectoriesAreOnASharedFilesystem) {
  Scratch s("job_root");
  auto root = (s.dir / "shared").string();
  auto dry = s.awsdt("run fsdp --cluster slurm -N 1 --dry-run", "AWSDT_JOB_ROOT=" + root);
  ASSERT_EQ(dry.status, 0) << dry.output;
  EXPECT_NE(dry.output.find("--checkpoint-dir " + root + "/DRY-RUN/checkpoints"), std::string::npos) << dry.output;
  auto multi = s.awsdt("run fsdp --cluster slurm -N 2 --instance-type p5.48xlarge --dry-run");
  EXPECT_EQ(multi.status, 2) << multi.output;
  EXPECT_NE(multi.output.find("which the other nodes of this 2-node job do not see"), std::string::npos)
      << multi.output;
}

// A number is awsdt's job number: one never recorded is said to be unknown, not matched to the job that had that
// scheduler id (a local job's id is its process id).
TEST(Cli, StatusOfAJobNeverRecordedSaysSo) {
  Scratch s("status");
  auto run = s.awsdt("run collectives --wait -- -b 1K -e 1K -n 1");
  ASSERT_EQ(run.status, 0) << run.output;
  auto jobs = s.awsdt("jobs").output;
  auto line = jobs.substr(jobs.find('\n') + 1);
  std::istringstream fields(line);
  std::string number, pid;
  fields >> number >> pid;
  ASSERT_EQ(number, "1") << jobs;
  auto status = s.awsdt("status " + pid);
  EXPECT_EQ(status.status, 2) << status.output;
  EXPECT_EQ(status.output, "error: no awsdt job " + pid + " was recorded; scheduler id " + pid +
                               " is awsdt job 1 (use that number)\n");
  auto rank = s.awsdt("logs 1 --rank 1");
  EXPECT_EQ(rank.status, 2) << rank.output;
  EXPECT_NE(rank.output.find("--rank 1: a local job's ranks share one log"), std::string::npos) << rank.output;
}

// The local demo trains on learnable data: the loss visibly falls.
TEST(Cli, LocalFsdpDemoLearns) {
  Scratch s("demo");
  auto run = s.awsdt("run fsdp");
  ASSERT_EQ(run.status, 0) << run.output;
  std::smatch first, last;
  ASSERT_TRUE(std::regex_search(run.output, first, std::regex(R"(step 1/20 \| Loss: ([0-9.]+))"))) << run.output;
  ASSERT_TRUE(std::regex_search(run.output, last, std::regex(R"(step 20/20 \| Loss: ([0-9.]+))"))) << run.output;
  EXPECT_LT(std::stod(last[1]), std::stod(first[1]) / 3) << run.output;
}
