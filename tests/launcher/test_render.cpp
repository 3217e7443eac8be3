// The launcher's renders, in process: byte-for-byte golden files per backend, every rendered YAML and JSON
// parses with the expected structure, shell passes bash -n and shellcheck, hostile values render inert or are
// rejected, and EFA is configured by construction.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "args_merge.hpp"
#include "checkpoint_args.hpp"
#include "cluster/backend.hpp"
#include "commands/job_flags.hpp"
#include "render_data.hpp"
#include "support/run_command.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace awsdt;
using namespace awsdt::launcher;
namespace fs = std::filesystem;

namespace {

// The fixed job of tests/golden/update.sh.
JobCommand golden_job(const std::string& cluster) {
  JobCommand j;
  j.test_case = "collectives";
  j.flags.cluster = cluster;
  j.flags.nodes = 2;
  j.flags.instance_type = "p5.48xlarge";
  j.flags.job_dir = "/fsx/awsdt/jobs/golden";
  j.flags.time_limit = "02:00:00";
  j.flags.env = {"NCCL_DEBUG=INFO"};
  j.flags.args = {"all_reduce", "-b", "8", "-e", "1G", "-f", "2"};
  // Slurm without a container runs the build beside awsdt (the test's own would be machine-specific).
  if (cluster == "slurm") j.flags.bin_dir = "/fsx/awsdt/bin";
  return j;
}

const std::string kImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/awsdt:1";

// What `awsdt render` writes for j (the goldens are made by that command: tests/golden/update.sh).
Artifacts render(const JobCommand& j) {
  Manifest manifest;
  auto spec = resolve(j, &manifest);
  add_output_args(spec, manifest);
  return make_backend(spec.cluster)->render(spec, TemplateSet::embedded());
}

std::string file_of(const Artifacts& a, const std::string& name) {
  for (const auto& [n, content] : a.files)
    if (n == name) return content;
  ADD_FAILURE() << "no artifact " << name;
  return {};
}

std::string golden(const std::string& name) { return read_file(std::string(GOLDEN_DIR) + "/" + name); }

std::string write_temp(const std::string& name, const std::string& content) {
  auto p = (fs::temp_directory_path() / ("awsdt_render_" + name)).string();
  write_file_atomic(p, content);
  return p;
}

}  // namespace

TEST(Golden, EveryBackendRendersByteForByte) {
  auto slurm = golden_job("slurm");
  slurm.flags.partition = "p5";
  slurm.flags.account = "ml";
  EXPECT_EQ(file_of(render(slurm), "job.sbatch"), golden("slurm.sbatch"));

  auto hp = golden_job("hyperpod-slurm");
  hp.flags.container = "nvcr.io/nvidia/pytorch:24.07-py3";
  hp.flags.mounts = {"/fsx:/fsx"};
  EXPECT_EQ(file_of(render(hp), "job.sbatch"), golden("hyperpod-slurm.sbatch"));

  auto eks = golden_job("eks");
  eks.flags.container = kImage;
  eks.flags.namespace_ = "training";
  EXPECT_EQ(file_of(render(eks), "mpijob.yaml"), golden("eks-mpijob.yaml"));

  auto torch = golden_job("eks");
  torch.flags.container = kImage;
  torch.flags.launcher = "torchrun";
  EXPECT_EQ(file_of(render(torch), "pytorchjob.yaml"), golden("eks-pytorchjob.yaml"));

  auto hpe = golden_job("hyperpod-eks");
  hpe.flags.container = kImage;
  hpe.flags.retries = 3;
  EXPECT_EQ(file_of(render(hpe), "hyperpodpytorchjob.yaml"), golden("hyperpod-eks.yaml"));

  auto batch = golden_job("batch");
  batch.flags.container = kImage;
  batch.flags.queue = "p5-queue";
  auto a = render(batch);
  EXPECT_EQ(file_of(a, "job-definition.json"), golden("batch-job-definition.json"));
  EXPECT_EQ(file_of(a, "submit-job.json"), golden("batch-submit-job.json"));
}

TEST(Parse, KubernetesManifestsHaveEfaHugepagesAndShm) {
  for (const auto* file : {"eks-mpijob.yaml", "eks-pytorchjob.yaml", "hyperpod-eks.yaml"}) {
    YAML::Node doc = YAML::Load(golden(file));
    YAML::Node pod;
    std::string kind = doc["kind"].as<std::string>();
    if (kind == "MPIJob")
      pod = doc["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"];
    else if (kind == "PyTorchJob")
      pod = doc["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"];
    else
      pod = doc["spec"]["replicaSpecs"][0]["template"]["spec"];
    ASSERT_TRUE(pod) << file;
    auto res = pod["containers"][0]["resources"];
    for (const char* side : {"requests", "limits"}) {
      EXPECT_EQ(res[side]["vpc.amazonaws.com/efa"].as<int>(), 32) << file;
      EXPECT_EQ(res[side]["nvidia.com/gpu"].as<int>(), 8) << file;
      EXPECT_EQ(res[side]["hugepages-2Mi"].as<std::string>(), "5120Mi") << file;
    }
    EXPECT_EQ(pod["volumes"][0]["emptyDir"]["medium"].as<std::string>(), "Memory") << file;
    std::vector<std::string> tolerated;  // GPU and EFA node groups' common NoSchedule taints
    for (const auto& t : pod["tolerations"])
      if (t["operator"].as<std::string>() == "Exists" && t["effect"].as<std::string>() == "NoSchedule")
        tolerated.push_back(t["key"].as<std::string>());
    EXPECT_EQ(tolerated, (std::vector<std::string>{"nvidia.com/gpu", "vpc.amazonaws.com/efa"})) << file;
    EXPECT_EQ(pod["nodeSelector"]["node.kubernetes.io/instance-type"].as<std::string>(),
              kind == "HyperPodPyTorchJob" ? "ml.p5.48xlarge" : "p5.48xlarge")
        << file;
    bool efa = false;
    for (const auto& e : pod["containers"][0]["env"])
      efa |= e["name"].as<std::string>() == "FI_PROVIDER" && e["value"].as<std::string>() == "efa";
    EXPECT_TRUE(efa) << file;
  }
  auto mpijob = YAML::Load(golden("eks-mpijob.yaml"));
  EXPECT_EQ(mpijob["apiVersion"].as<std::string>(), "kubeflow.org/v2beta1");
  EXPECT_EQ(mpijob["spec"]["slotsPerWorker"].as<int>(), 8);
  EXPECT_EQ(mpijob["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"].as<int>(), 2);
}

// HyperPod labels nodes with SageMaker's instance names; users may type either name anywhere.
TEST(Parse, HyperPodSelectsSageMakerInstanceNamesAndOpensTheAgentPort) {
  for (const std::string type : {"p5.48xlarge", "ml.p5.48xlarge"}) {
    SCOPED_TRACE(type);
    auto hp = golden_job("hyperpod-eks");
    hp.flags.container = kImage;
    hp.flags.instance_type = type;
    auto pod =
        YAML::Load(file_of(render(hp), "hyperpodpytorchjob.yaml"))["spec"]["replicaSpecs"][0]["template"]["spec"];
    EXPECT_EQ(pod["nodeSelector"]["node.kubernetes.io/instance-type"].as<std::string>(), "ml.p5.48xlarge");
    EXPECT_EQ(pod["containers"][0]["ports"][0]["containerPort"].as<int>(), 8080);
    EXPECT_EQ(pod["containers"][0]["resources"]["limits"]["vpc.amazonaws.com/efa"].as<int>(), 32);
    auto eks = golden_job("eks");
    eks.flags.container = kImage;
    eks.flags.instance_type = type;
    auto worker = YAML::Load(file_of(render(eks), "mpijob.yaml"))["spec"]["mpiReplicaSpecs"]["Worker"]["template"];
    EXPECT_EQ(worker["spec"]["nodeSelector"]["node.kubernetes.io/instance-type"].as<std::string>(), "p5.48xlarge");
    auto slurm = golden_job("hyperpod-slurm");
    slurm.flags.instance_type = type;
    EXPECT_NE(file_of(render(slurm), "job.sbatch").find("#SBATCH --gpus-per-node=8\n"), std::string::npos);
  }
}

// enroot reads [USER@][REGISTRY#]IMAGE[:TAG]: a registry host before the first '/' would be taken for a Docker
// Hub namespace.
TEST(Pyxis, ImageReferencesSeparateTheRegistryWithHash) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {kImage, "123456789012.dkr.ecr.us-east-1.amazonaws.com#awsdt:1"},
      {"nvcr.io/nvidia/pytorch:24.07-py3", "nvcr.io#nvidia/pytorch:24.07-py3"},
      {"localhost/awsdt", "localhost#awsdt"},
      {"registry:5000/team/awsdt:2", "registry:5000#team/awsdt:2"},
      {"me@nvcr.io/nvidia/cuda", "me@nvcr.io#nvidia/cuda"},
      {"nvidia/cuda:12.4.1-devel-ubuntu22.04", "nvidia/cuda:12.4.1-devel-ubuntu22.04"},  // Docker Hub
      {"ubuntu:22.04", "ubuntu:22.04"},
      {"nvcr.io#nvidia/pytorch:24.07-py3", "nvcr.io#nvidia/pytorch:24.07-py3"},
      {"/fsx/images/awsdt.sqsh", "/fsx/images/awsdt.sqsh"},
      {"./awsdt.sqsh", "./awsdt.sqsh"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(enroot_image(in), want) << in;
  auto j = golden_job("slurm");
  j.flags.container = kImage;
  auto script = file_of(render(j), "job.sbatch");
  EXPECT_NE(script.find(" --container-image='123456789012.dkr.ecr.us-east-1.amazonaws.com#awsdt:1' "),
            std::string::npos)
      << script;
}

// A name the data does not define would render as nothing (`#SBATCH --nodes=`): every tag is checked, with the
// keys of a list's items visible inside its section.
TEST(Templates, UndefinedNamesAreRefusedWithTheTemplateAndTheName) {
  auto dir = fs::temp_directory_path() / ("awsdt_templates_" + std::to_string(::getpid()));
  auto render_with = [&](const std::string& text, const std::string& partial = "{{#env}}# {{{name}}}\n{{/env}}") {
    fs::remove_all(dir);
    fs::create_directories(dir / "slurm");
    write_file_atomic((dir / "slurm" / "sbatch.sh.mustache").string(), text);
    write_file_atomic((dir / "slurm" / "extra_lines.mustache").string(), partial);
    auto j = golden_job("slurm");
    j.flags.nodes = 1;
    j.flags.instance_type.reset();
    j.flags.gpus_per_node = 8;
    j.flags.env = {"A=1", "B=x y"};
    auto spec = resolve(j);
    return make_backend("slurm")->render(spec, TemplateSet::from_directory(dir)).files.at(0).second;
  };
  EXPECT_EQ(render_with("#SBATCH --nodes={{{nodes}}}\n{{#env}}export {{{name}}}={{value}}{{/env}}{{^has_gpus}}"
                        "cpu{{/has_gpus}}{{#extra}}{{{flag}}}{{/extra}}{{>extra_lines}}{{! nodez }}\n"),
            "#SBATCH --nodes=1\nexport A=1export B='x y'# A\n# B\n");
  for (const auto& [text, named] : std::vector<std::pair<std::string, std::string>>{
           {"#SBATCH --nodes={{{nodez}}}\n", "{{nodez}}"},
           {"{{#has_gpuz}}x{{/has_gpuz}}", "{{has_gpuz}}"},
           {"{{^has_gpuz}}x{{/has_gpuz}}", "{{has_gpuz}}"},
           {"{{#env}}{{{nmae}}}{{/env}}", "{{nmae}}"},
           {"{{#env}}{{/env}}{{{name}}}", "{{name}}"},  // an item's key, outside its list's section
           {"{{>extra_linez}}", "partial extra_linez"},
           {"{{ nodes }}{{& job_dirr }}", "{{job_dirr}}"}}) {
    try {
      render_with(text);
      ADD_FAILURE() << "rendered: " << text;
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()), "template 'slurm/sbatch.sh.mustache' uses " + named +
                                           ", which awsdt does not define for it; use the names the built-in "
                                           "template uses")
          << text;
    }
  }
  // A partial that includes itself (found by tests/fuzz/fuzz_templates: checking it took exponential time) is
  // refused, directly or through another one.
  EXPECT_THROW(
      {
        try {
          render_with("{{>extra_lines}}", "{{>extra_lines}}{{>extra_lines}}");
        } catch (const UsageError& e) {
          EXPECT_EQ(std::string(e.what()),
                    "template 'slurm/sbatch.sh.mustache': partial 'extra_lines' includes itself");
          throw;
        }
      },
      UsageError);
  fs::remove_all(dir);
}

// mpi-operator v2beta1 runs nothing on workers but what the pod says: they must serve sshd for mpirun, whose
// ranks need the launcher's PATH and LD_LIBRARY_PATH.
TEST(Parse, MpiJobWorkersServeSshdAndRanksGetTheSearchPaths) {
  auto specs = YAML::Load(golden("eks-mpijob.yaml"))["spec"]["mpiReplicaSpecs"];
  auto worker = specs["Worker"]["template"]["spec"]["containers"][0]["command"];
  ASSERT_TRUE(worker.IsSequence());
  EXPECT_EQ(worker.as<std::vector<std::string>>(), (std::vector<std::string>{"/usr/sbin/sshd", "-De"}));
  auto launcher = specs["Launcher"]["template"]["spec"]["containers"][0]["command"].as<std::vector<std::string>>();
  std::string joined;
  for (const auto& a : launcher) joined += a + " ";
  EXPECT_NE(joined.find(" -x PATH -x LD_LIBRARY_PATH "), std::string::npos) << joined;
}

TEST(Parse, BatchJsonHasEveryEfaDeviceAndNodeOverrides) {
  auto def = nlohmann::json::parse(golden("batch-job-definition.json"));
  EXPECT_EQ(def["type"], "multinode");
  auto c = def["nodeProperties"]["nodeRangeProperties"][0]["container"];
  ASSERT_EQ(c["linuxParameters"]["devices"].size(), 32u);
  EXPECT_EQ(c["linuxParameters"]["devices"][31]["hostPath"], "/dev/infiniband/uverbs31");
  EXPECT_EQ(c["ulimits"][0]["name"], "memlock");
  // batch-entry's mpirun passes every variable of the job to the ranks it starts over ssh.
  std::string names;
  for (const auto& e : c["environment"])
    if (e["name"] != "AWSDT_TEST_CASE") names += (names.empty() ? "" : ",") + e["name"].get<std::string>();
  EXPECT_NE(names.find("NCCL_DEBUG"), std::string::npos) << names;
  auto cmd = c["command"].get<std::vector<std::string>>();
  auto at = std::find(cmd.begin(), cmd.end(), "--forward-env");
  ASSERT_NE(at, cmd.end());
  EXPECT_EQ(at[1], names);
  EXPECT_EQ(at[2], "--");
  auto submit = nlohmann::json::parse(golden("batch-submit-job.json"));
  EXPECT_EQ(submit["nodeOverrides"]["numNodes"], 2);
  EXPECT_EQ(submit["jobDefinition"], def["jobDefinitionName"]);
}

TEST(Parse, ShellPassesBashAndShellcheck) {
  for (const auto* file : {"slurm.sbatch", "hyperpod-slurm.sbatch"}) {
    auto path = std::string(GOLDEN_DIR) + "/" + file;
    auto bash = awsdt::testing::run_command("bash -n " + path);
    EXPECT_EQ(bash.status, 0) << bash.output;
    auto sc = awsdt::testing::run_command("shellcheck " + path);
    EXPECT_EQ(sc.status, 0) << sc.output;
  }
}

// Hostile values in env values and arguments: rendered, then run with stub srun/kubectl-free parsers, they
// come back byte for byte.
TEST(Injection, HostileValuesRenderInertEverywhere) {
  const std::vector<std::string> hostile{
      "it's",  "say \"hi\"",   "$(touch /tmp/awsdt_pwned)", "`touch /tmp/awsdt_pwned`",
      "a,b;c", "line1\nline2", "caf\xc3\xa9 \xe2\x9c\x93",  "--flag=$HOME"};
  fs::remove("/tmp/awsdt_pwned");
  // Slurm: run the script with a stub srun that prints its arguments after its own options, and the variables.
  auto job = golden_job("slurm");
  job.flags.env.clear();
  job.flags.args = {"--hostile"};  // the values of one option, after the test case's defaults merged before it
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    job.flags.env.push_back("HOSTILE_" + std::to_string(i) + "=" + hostile[i]);
    job.flags.args.push_back(hostile[i]);
  }
  auto script = write_temp("hostile.sbatch", file_of(render(job), "job.sbatch"));
  auto sc = awsdt::testing::run_command("shellcheck " + script);
  EXPECT_EQ(sc.status, 0) << sc.output;
  auto stub_dir = fs::temp_directory_path() / "awsdt_stub_bin";
  fs::create_directories(stub_dir);
  write_file_atomic(
      (stub_dir / "srun").string(),
      "#!/bin/bash\nwhile [[ $1 == --* ]]; do shift; done\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\n"
      "for i in 0 1 2 3 4 5 6 7; do v=HOSTILE_$i; printf '[%s]\\n' \"${!v}\"; done\n");
  fs::permissions(stub_dir / "srun", fs::perms::owner_all);
  auto out = awsdt::testing::run_command("env PATH=" + stub_dir.string() + ":/usr/bin:/bin bash " + script);
  ASSERT_EQ(out.status, 0) << out.output;
  std::string want = "</fsx/awsdt/bin/awsdt-collectives>\n";
  for (const char* d : {"all_reduce", "-b", "8", "-e", "8G", "-f", "2", "-c", "1", "-n", "100", "--hostile"})
    want += std::string("<") + d + ">\n";
  for (const auto& h : hostile) want += "<" + h + ">\n";
  want += "<-J>\n</fsx/awsdt/jobs/golden/result.json>\n";  // the result file awsdt adds, after the user's args
  for (const auto& h : hostile) want += "[" + h + "]\n";
  EXPECT_EQ(out.output, want);
  EXPECT_FALSE(fs::exists("/tmp/awsdt_pwned"));

  // YAML and JSON: the parsed values equal the originals.
  auto eks = job;
  eks.flags.cluster = "eks";
  eks.flags.container = kImage;
  auto y = YAML::Load(file_of(render(eks), "mpijob.yaml"));
  auto env = y["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["env"];
  auto command = y["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]["command"];
  std::vector<std::string> args;
  for (const auto& c : command) args.push_back(c.as<std::string>());
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    EXPECT_EQ(env[i + 5]["value"].as<std::string>(), hostile[i]);  // after the 5 EFA preset variables
    EXPECT_EQ(args[args.size() - hostile.size() + i], hostile[i]);
  }
  auto batch = job;
  batch.flags.cluster = "batch";
  batch.flags.container = kImage;
  batch.flags.queue = "q";
  auto def = nlohmann::json::parse(file_of(render(batch), "job-definition.json"));
  auto cmd = def["nodeProperties"]["nodeRangeProperties"][0]["container"]["command"];
  for (std::size_t i = 0; i < hostile.size(); ++i) EXPECT_EQ(cmd[cmd.size() - hostile.size() + i], hostile[i]);
}

TEST(Injection, ValuesWithoutQuotingAreRejectedWithTheValue) {
  auto expect_usage = [](JobCommand j, const std::string& message) {
    try {
      render(j);
      ADD_FAILURE() << "accepted: " << message;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  auto j = golden_job("slurm");
  j.flags.name = "x'; rm -rf /";
  expect_usage(j, "job name \"x'; rm -rf /\" is not accepted here");
  j = golden_job("slurm");
  j.flags.partition = "gpu\n#SBATCH --wrap=evil";
  expect_usage(j, "--partition \"gpu\\n#SBATCH --wrap=evil\"");
  j = golden_job("slurm");
  j.flags.extra = {"--qos=high\nrm -rf /"};
  expect_usage(j, "must be one scheduler option starting with -- on one line");
  j = golden_job("slurm");
  j.flags.mounts = {"/a,/b:/c"};
  expect_usage(j, "--mount \"/a,/b:/c\" must be /host/path:/container/path");
  j = golden_job("slurm");
  j.flags.env = {"BAD NAME=1"};
  expect_usage(j, "environment variable name \"BAD NAME\" is not valid");
  j = golden_job("eks");
  j.flags.container = kImage;
  j.flags.name = "Upper_Case";
  expect_usage(j, "is not a Kubernetes name");
}

TEST(Efa, MultiNodeJobsGetEfaByConstruction) {
  auto j = golden_job("slurm");
  j.flags.env = {"FI_PROVIDER=tcp"};
  try {
    render(j);
    FAIL() << "a multi-node EFA job over TCP rendered without --allow-no-efa";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("p5.48xlarge has 32 EFA devices but this job would not use EFA"),
              std::string::npos)
        << e.what();
  }
  j.flags.allow_no_efa = true;
  EXPECT_NO_THROW(render(j));
  auto no_type = golden_job("slurm");
  no_type.flags.instance_type.reset();
  EXPECT_THROW(render(no_type), UsageError);
  // What the preset sets, and says about it: fork safety is aws-ofi-nccl's business now, and WARN shows no
  // network choice.
  auto preset = golden_job("slurm");
  preset.flags.env.clear();
  auto p5 = file_of(render(preset), "job.sbatch");
  EXPECT_EQ(p5.find("FI_EFA_FORK_SAFE"), std::string::npos) << p5;
  EXPECT_EQ(p5.find("and the chosen network"), std::string::npos) << p5;
  EXPECT_NE(p5.find("# NCCL's warnings and errors only"), std::string::npos) << p5;
  auto g5 = golden_job("slurm");
  g5.flags.instance_type = "g5.12xlarge";  // no EFA: nothing to configure, and nothing to fail
  auto script = file_of(render(g5), "job.sbatch");
  EXPECT_EQ(script.find("FI_PROVIDER"), std::string::npos);
  EXPECT_NE(script.find("--gpus-per-node=4"), std::string::npos);
}

// On an EFA GPU instance NCCL must use aws-ofi-nccl or fail at start: without NCCL_NET it falls back to TCP
// sockets when the plugin does not load, silently and several times slower. A job that points NCCL elsewhere is
// refused like one that points libfabric away from efa; the plugin's other names are its own.
TEST(Efa, NcclFailsRatherThanFallBackToSockets) {
  auto preset = golden_job("slurm");
  preset.flags.env.clear();
  auto p5 = file_of(render(preset), "job.sbatch");
  EXPECT_NE(p5.find("export NCCL_NET='AWS Libfabric'"), std::string::npos) << p5;
  EXPECT_NE(p5.find("# NCCL must use the aws-ofi-nccl plugin (EFA) or fail at start"), std::string::npos) << p5;
  auto eks = golden_job("eks");
  eks.flags.container = kImage;
  auto pod = YAML::Load(file_of(render(eks), "mpijob.yaml"))["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"];
  bool pinned = false;
  for (const auto& e : pod["containers"][0]["env"])
    pinned |= e["name"].as<std::string>() == "NCCL_NET" && e["value"].as<std::string>() == "AWS Libfabric";
  EXPECT_TRUE(pinned);

  auto sockets = golden_job("slurm");
  sockets.flags.env = {"NCCL_NET=Socket"};
  try {
    render(sockets);
    FAIL() << "NCCL over sockets on p5 rendered without --allow-no-efa";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("NCCL_NET=\"Socket\" on p5.48xlarge takes NCCL off EFA"), std::string::npos)
        << e.what();
  }
  sockets.flags.allow_no_efa = true;
  EXPECT_NO_THROW(render(sockets));
  for (const char* name : {"NCCL_NET=OFI", "NCCL_NET=Libfabric", "NCCL_NET=aws libfabric"}) {
    auto other = golden_job("slurm");
    other.flags.env = {name};
    EXPECT_NO_THROW(render(other)) << name;
  }
  auto g5 = golden_job("slurm");
  g5.flags.instance_type = "g5.12xlarge";  // no EFA: no plugin to insist on
  EXPECT_EQ(file_of(render(g5), "job.sbatch").find("NCCL_NET"), std::string::npos);
}

TEST(BadInput, ClearErrorsNamingTheValue) {
  auto j = golden_job("slurm");
  j.flags.cluster = "kubernetes";
  EXPECT_THROW(render(j), UsageError);
  j = golden_job("slurm");
  j.flags.instance_type = "p9.mega";
  try {
    render(j);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown instance type 'p9.mega'"), std::string::npos);
  }
  j = golden_job("slurm");
  j.flags.time_limit = "forever";
  EXPECT_THROW(render(j), UsageError);
  j = golden_job("eks");
  EXPECT_THROW(render(j), UsageError);  // no container
  j = golden_job("batch");
  j.flags.container = kImage;
  EXPECT_THROW(render(j), UsageError);  // no queue
  j = golden_job("slurm");
  j.flags.nodes = 0;
  EXPECT_THROW(render(j), UsageError);
}

// Jobs that would render but not run as asked: one line naming the value and what is accepted.
TEST(BadInput, JobsThatCannotRunAsAskedAreRefused) {
  auto expect_usage = [](JobCommand j, const std::string& message) {
    try {
      render(j);
      ADD_FAILURE() << "accepted: " << message;
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  };
  auto j = golden_job("slurm");
  j.flags.gpus_per_node = 16;
  expect_usage(j, "--gpus-per-node 16 is more than p5.48xlarge has (8)");
  j = golden_job("slurm");
  j.flags.tasks_per_node = 16;
  expect_usage(j, "--tasks-per-node 16 is more than --gpus-per-node 8: NCCL runs one rank per GPU");
  j.flags.gpus_per_node = 0;  // CPU ranks: as many as wanted
  EXPECT_NO_THROW(render(j));
  for (const std::string cluster : {"slurm", "hyperpod-slurm"}) {
    j = golden_job(cluster);
    j.flags.launcher = "mpirun";
    j.flags.container = kImage;
    expect_usage(j, "--launcher mpirun cannot start ranks in --container \"" + kImage +
                        "\" (pyxis works through srun); use --launcher srun");
  }
  for (const std::string cluster : {"eks", "hyperpod-eks", "batch", "local"}) {
    j = golden_job(cluster);
    j.flags.container = kImage;
    j.flags.queue = "q";
    j.flags.extra = {"--qos=high"};
    expect_usage(j, "--extra \"--qos=high\" is passed to sbatch only; --cluster " + cluster + " has no use for it");
  }
  j = golden_job("local");
  j.flags.container = kImage;
  expect_usage(j, "--container \"" + kImage +
                      "\" needs a cluster that runs containers (slurm or hyperpod-slurm "
                      "with pyxis, eks, hyperpod-eks, batch); --cluster local runs this machine's build");
  j = golden_job("local");
  j.flags.mounts = {"/fsx:/fsx"};
  expect_usage(j, "--mount \"/fsx:/fsx\" is a container mount; --cluster local runs no container");
  for (const std::string image : {"awsdt:1 --privileged", "awsdt:1\n", "awsdt\t:1"}) {
    j = golden_job("eks");
    j.flags.container = image;
    expect_usage(j, "--container " + nlohmann::json(image).dump() + " is not an image name: it has whitespace");
  }
}

TEST(Defaults, GpuNodesRunWhatAClusterIsForCpusWhatTheyCanAfford) {
  // A p5 job runs a real model and nccl-tests' sizes; a local run or CPU nodes keep the small defaults; the
  // user's arguments win everywhere.
  auto p5 = golden_job("slurm");
  p5.test_case = "fsdp";
  p5.flags.args.clear();
  const auto script = file_of(render(p5), "job.sbatch");
  EXPECT_NE(script.find("awsdt-fsdp --model llama3_1_8b"), std::string::npos) << script;
  auto cpu = p5;
  cpu.flags.instance_type.reset();
  cpu.flags.nodes = 1;
  cpu.flags.gpus_per_node = 0;
  EXPECT_NE(file_of(render(cpu), "job.sbatch").find("awsdt-fsdp --model tiny"), std::string::npos);
  auto nccl = golden_job("eks");
  nccl.flags.container = kImage;
  nccl.flags.args.clear();
  const auto job = file_of(render(nccl), "mpijob.yaml");
  EXPECT_NE(job.find("- \"8G\""), std::string::npos) << job;
  auto mine = golden_job("slurm");
  mine.test_case = "fsdp";
  mine.flags.args = {"--model", "small"};
  const auto own = file_of(render(mine), "job.sbatch");
  EXPECT_NE(own.find(" --model small "), std::string::npos) << own;
  EXPECT_EQ(own.find("llama3_1_8b"), std::string::npos) << own;
}

// What sinfo prints on ParallelCluster (instance type among the features), a plain GPU partition and a CPU one.
TEST(SlurmNodes, SinfoAnswersBecomeTheJobsGpusOrInstanceType) {
  auto catalog = Catalog::load(architectures_dir());
  const std::string out =
      "cpu*|(null)|8|(null)\n"
      "p5|gpu:h100:8(S:0-1)|192|static,p5.48xlarge,efa,gpu\n"
      "g|gpu:a10g:4,nvme:1|48|dynamic\n";
  auto cpu = parse_sinfo(out, "", catalog);
  EXPECT_TRUE(cpu.learned);
  EXPECT_EQ(cpu.partition, "cpu");
  EXPECT_EQ(cpu.gpus, 0);
  EXPECT_EQ(cpu.cpus, 8);
  auto p5 = parse_sinfo(out, "p5", catalog);
  EXPECT_EQ(p5.gpus, 8);
  EXPECT_EQ(p5.instance_type, "p5.48xlarge");
  auto g = parse_sinfo(out, "g", catalog);
  EXPECT_EQ(g.gpus, 4);
  EXPECT_EQ(g.instance_type, "");
  EXPECT_FALSE(parse_sinfo(out, "nope", catalog).learned);
  // The instance type a partition's features name stands for --instance-type: its EFA environment included.
  auto m = find_manifest(test_cases_dir(""), "collectives");
  JobFlags flags;
  flags.cluster = "slurm";
  auto spec = resolve_jobspec(m, catalog, flags, &p5);
  EXPECT_EQ(spec.instance_type, "p5.48xlarge");
  EXPECT_EQ(spec.gpus_per_node, 8);
  EXPECT_EQ(spec.inferred.at("instance_type"), "p5.48xlarge");
  spec = resolve_jobspec(m, catalog, flags, &cpu);
  EXPECT_EQ(spec.gpus_per_node, 0);
  EXPECT_EQ(spec.inferred.at("gres"), "(null)");
}

// Arguments after -- are merged onto the defaults flag by flag (the executable takes the last of a repeated flag).
TEST(Defaults, UserArgumentsOverrideTheDefaultsFlagByFlag) {
  const std::vector<std::string> defaults{"all_reduce", "-b", "8", "-e", "64M", "-f", "2", "-c", "1"};
  EXPECT_EQ(merge_args(defaults, {"-b", "1M", "-e", "1G"}),
            (std::vector<std::string>{"all_reduce", "-f", "2", "-c", "1", "-b", "1M", "-e", "1G"}));
  EXPECT_EQ(merge_args(defaults, {"all_gather", "-c=0"}),
            (std::vector<std::string>{"all_gather", "-b", "8", "-e", "64M", "-f", "2", "-c=0"}));
  EXPECT_EQ(merge_args({"--lr", "3e-4"}, {"--min-lr", "-1"}),
            (std::vector<std::string>{"--lr", "3e-4", "--min-lr", "-1"}));
  EXPECT_EQ(merge_args(defaults, {}), defaults);
}

// awsdt-megatron's subcommands have flags of their own: `-- gemm ...` after a train default keeps none of train's.
TEST(Defaults, AnotherSubcommandDropsTheDefaultsFlags) {
  const std::vector<std::string> train{"train", "--model", "tiny", "--tp", "2"}, subs{"gemm", "train"};
  EXPECT_EQ(merge_args(train, {"gemm", "--pattern", "all"}, subs),
            (std::vector<std::string>{"gemm", "--pattern", "all"}));
  EXPECT_EQ(merge_args(train, {"train", "--tp", "1"}, subs),
            (std::vector<std::string>{"train", "--model", "tiny", "--tp", "1"}));
  EXPECT_EQ(merge_args(train, {"--steps", "5"}, subs),
            (std::vector<std::string>{"train", "--model", "tiny", "--tp", "2", "--steps", "5"}));
  EXPECT_EQ(merge_args({"all_reduce", "-b", "8"}, {"all_gather"}, {}),
            (std::vector<std::string>{"all_gather", "-b", "8"}));
}

// An expert's cluster default: llama3_1_8b at sequence length 8192, as torchtitan's published MFU figures run it.
TEST(Defaults, GpuNodesTrainLlama31At8192Tokens) {
  auto p5 = golden_job("slurm");
  p5.test_case = "fsdp";
  p5.flags.args.clear();
  const auto script = file_of(render(p5), "job.sbatch");
  EXPECT_NE(script.find("--model llama3_1_8b"), std::string::npos) << script;
  EXPECT_NE(script.find("--seq-len 8192"), std::string::npos) << script;
}
