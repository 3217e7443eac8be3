// `awsdt render <service>`: install artifacts rendered from architectures/services/<service>/<cluster>/, in process
// on a --templates tree made here: values reach the installed command byte for byte (shell and YAML), and a cluster
// without templates, a missing image or a job-only flag is refused with one line naming it.
#include <gtest/gtest.h>

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "commands/render_service.hpp"
#include "awsdt/config.hpp"
#include "process.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace awsdt;
using namespace awsdt::launcher;
namespace fs = std::filesystem;

namespace {

class RenderService : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("awsdt_service_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    auto t = root_ / "templates" / "services" / "demo";
    fs::create_directories(t / "slurm");
    fs::create_directories(t / "eks");
    write_file_atomic((t / "slurm" / "install.sh.mustache").string(),
                      "#!/bin/bash\nexec {{bin_dir}}/awsdt-demo --home {{home}} {{{args_line}}}\n");
    write_file_atomic((t / "eks" / "daemonset.yaml.mustache").string(),
                      "image: {{image}}\nnamespace: {{namespace}}\nargs:\n{{#args}}  - {{{json}}}\n{{/args}}");
    job_.test_case = "demo";
    job_.flags.bin_dir = (root_ / "bin").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::vector<fs::path> render(const std::string& cluster) {
    job_.flags.cluster = cluster;
    return render_service(job_, TemplateSet::from_directory(root_ / "templates"), root_ / ("out-" + cluster));
  }

  fs::path root_;
  JobCommand job_;
};

const std::vector<std::string> kHostile = {"--listen", "a b'c\"d$(touch /tmp/x)`e`\\f\n g", "*", ""};

TEST_F(RenderService, ListsTheServicesOfTheTemplateTree) {
  auto names = service_names(TemplateSet::from_directory(root_ / "templates"));
  EXPECT_EQ(names, std::vector<std::string>{"demo"});
}

TEST_F(RenderService, ScriptPassesEveryArgumentByteForByte) {
  fs::create_directories(root_ / "bin");
  write_file_atomic((root_ / "bin" / "awsdt-demo").string(), "#!/bin/bash\nprintf '%s\\0' \"$@\"\n");
  fs::permissions(root_ / "bin" / "awsdt-demo", fs::perms::owner_all);
  job_.flags.args = kHostile;
  auto files = render("slurm");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE((fs::status(files[0]).permissions() & fs::perms::owner_exec) != fs::perms::none);
  auto r = run_process({"bash", files[0].string()});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string expected;
  for (const auto& a : std::vector<std::string>{"--home", AWSDT_SOURCE_DIR}) expected += a + '\0';
  for (const auto& a : kHostile) expected += a + '\0';
  EXPECT_EQ(r.out, expected);
}

TEST_F(RenderService, YamlCarriesImageAndArgumentsAsStrings) {
  job_.flags.container = "123456789012.dkr.ecr.us-east-1.amazonaws.com/awsdt:1";
  job_.flags.namespace_ = "monitoring";
  job_.flags.args = kHostile;
  auto files = render("eks");
  ASSERT_EQ(files.size(), 1u);
  auto y = YAML::LoadFile(files[0].string());
  EXPECT_EQ(y["image"].as<std::string>(), *job_.flags.container);
  EXPECT_EQ(y["namespace"].as<std::string>(), "monitoring");
  ASSERT_EQ(y["args"].size(), kHostile.size());
  for (size_t i = 0; i < kHostile.size(); ++i) EXPECT_EQ(y["args"][i].as<std::string>(), kHostile[i]);
}

TEST_F(RenderService, RefusesWhatAServiceCannotHonourWithOneLine) {
  auto message = [&](const std::string& cluster) {
    try {
      render(cluster);
    } catch (const UsageError& e) {
      EXPECT_FALSE(fs::exists(root_ / ("out-" + cluster))) << "nothing is written for a refused render";
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message("batch").find("--cluster 'batch' is not one this service installs on; accepted: eks, slurm"),
            std::string::npos);
  EXPECT_NE(message("eks").find("needs --container"), std::string::npos);
  job_.flags.nodes = 4;
  EXPECT_NE(message("slurm").find("--nodes describes a job"), std::string::npos);
}

}  // namespace
