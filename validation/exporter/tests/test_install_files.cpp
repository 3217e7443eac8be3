// The exporter's install files as users render them (awsdt render exporter --cluster slurm|eks): the systemd
// unit starts the executable from --bin-dir on :9109 with the service arguments; the EKS file is a DaemonSet
// (host /sys read-only, NVML through the NVIDIA runtime) and a Service annotated for Prometheus.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <yaml-cpp/yaml.h>

#include "support/executables.hpp"
#include "support/run_command.hpp"

namespace fs = std::filesystem;
using awsdt::testing::built_executable;
using awsdt::testing::run_command;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const fs::path kDir = fs::temp_directory_path() / ("awsdt_exporter_install_" + std::to_string(::getpid()));

TEST(ExporterInstall, SlurmUnitAndScript) {
  const auto o = run_command(built_executable("awsdt") + " render exporter --cluster slurm -o " +
                             (kDir / "slurm").string() + " --bin-dir /fsx/awsdt/bin -- --collectors efa,awsdt");
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string unit = slurp(kDir / "slurm/awsdt-exporter.service");
  EXPECT_NE(unit.find("ExecStart=/fsx/awsdt/bin/awsdt-exporter --listen :9109 --metrics-dir /run/awsdt/metrics "
                      "--collectors efa,awsdt\n"),
            std::string::npos)
      << unit;
  EXPECT_NE(unit.find("RuntimeDirectoryMode=1777"), std::string::npos);
  const fs::path script = kDir / "slurm/install.sh";
  EXPECT_TRUE((fs::status(script).permissions() & fs::perms::owner_exec) != fs::perms::none);
  EXPECT_EQ(run_command("bash -n " + script.string()).status, 0);
  // On this machine /fsx/awsdt/bin does not exist: the script says so and installs nothing.
  const auto run = run_command("bash " + script.string());
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.output.find("/fsx/awsdt/bin/awsdt-exporter does not exist"), std::string::npos) << run.output;
  fs::remove_all(kDir);
}

TEST(ExporterInstall, EksDaemonSetAndAnnotatedService) {
  const auto o = run_command(built_executable("awsdt") + " render exporter --cluster eks --namespace monitoring -o " +
                             (kDir / "eks").string() + " --container repo/awsdt:1 -- --collectors 'efa,gpu'");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto docs = YAML::LoadAllFromFile((kDir / "eks/awsdt-exporter.yaml").string());
  ASSERT_EQ(docs.size(), 2u);
  const YAML::Node ds = docs[0], svc = docs[1];
  EXPECT_EQ(ds["kind"].as<std::string>(), "DaemonSet");
  EXPECT_EQ(ds["metadata"]["namespace"].as<std::string>(), "monitoring");
  const YAML::Node pod = ds["spec"]["template"]["spec"];
  const YAML::Node c = pod["containers"][0];
  EXPECT_EQ(c["image"].as<std::string>(), "repo/awsdt:1");
  const auto args = c["args"].as<std::vector<std::string>>();
  EXPECT_EQ(args.back(), "efa,gpu");
  EXPECT_EQ(args[2], "--sysfs");
  EXPECT_EQ(args[3], "/host/sys");
  for (const auto& m : c["volumeMounts"]) EXPECT_TRUE(m["readOnly"].as<bool>()) << m["name"].as<std::string>();
  bool nvml = false;
  for (const auto& e : c["env"]) nvml |= e["name"].as<std::string>() == "NVIDIA_VISIBLE_DEVICES";
  EXPECT_TRUE(nvml);
  EXPECT_EQ(svc["kind"].as<std::string>(), "Service");
  EXPECT_EQ(svc["metadata"]["annotations"]["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(svc["metadata"]["annotations"]["prometheus.io/port"].as<std::string>(), "9109");
  EXPECT_EQ(svc["spec"]["selector"]["app.kubernetes.io/name"].as<std::string>(),
            ds["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>());
  fs::remove_all(kDir);
}

TEST(ExporterInstall, OtherClustersRefusedWithTheList) {
  const auto o = run_command(built_executable("awsdt") + " render exporter --cluster batch -o " + kDir.string());
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("accepted: eks, slurm"), std::string::npos) << o.output;
}

}  // namespace
