// Smoke tests of the awsdt launcher as a user runs it: --help, --version, list, versions --json, run, and
// clear errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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
  auto typo = run_command(kAwsdt + " render collectives --cluster slurm --templates " + templates.string() + " -o " +
                          out.string());
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
