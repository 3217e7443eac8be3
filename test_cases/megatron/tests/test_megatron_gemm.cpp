// awsdt-megatron gemm under mpirun at 1-4 ranks: every pattern and method against serial and float64 (chunks that
// do and do not divide the rows), the layer against the global (one-rank) math, the check counting a corrupted
// chunk exactly, bad input refused in one line, the JSON and CSV outputs, and `awsdt run megatron` as typed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::mpirun;
using awsdt::testing::Outcome;
using awsdt::testing::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kExe = awsdt::testing::built_executable("awsdt-megatron");

struct GemmRun {
  Outcome outcome;
  nlohmann::json doc;
};

GemmRun gemm(int ranks, const std::string& args) {
  const fs::path json = fs::temp_directory_path() / ("megatron_" + std::to_string(::getpid()) + ".json");
  fs::remove(json);
  GemmRun r;
  r.outcome = run_command(mpirun(ranks) + kExe + " gemm --threads 1 -n 2 -w 1 -J " + json.string() + " " + args, 600);
  if (fs::exists(json)) r.doc = nlohmann::json::parse(std::ifstream(json));
  return r;
}

// Every row checked and right; `expected` (pattern/method) all present.
void expect_all_right(const GemmRun& r, const std::set<std::string>& expected) {
  ASSERT_EQ(r.outcome.status, 0) << r.outcome.output;
  std::set<std::string> seen;
  for (const auto& row : r.doc.at("rows")) {
    seen.insert(row.at("pattern").get<std::string>() + "/" + row.at("method").get<std::string>());
    EXPECT_EQ(row.at("wrong"), 0) << row.dump();
    EXPECT_GT(row.at("t_us").get<double>(), 0) << row.dump();
    EXPECT_GT(row.at("t_gemm_us").get<double>(), 0) << row.dump();
  }
  for (const std::string& e : expected) EXPECT_TRUE(seen.count(e)) << e << " missing\n" << r.outcome.output;
}

std::set<std::string> every(const std::vector<std::string>& patterns) {
  std::set<std::string> out;
  for (const auto& p : patterns)
    for (const char* m : {"serial", "pipelined", "ring"}) out.insert(p + "/" + m);
  return out;
}

class MegatronRanks : public ::testing::TestWithParam<int> {};

// M/tp = 24 rows split in 4 chunks (dividing) and in 5 (not dividing).
TEST_P(MegatronRanks, EveryPatternAndMethodMatchesSerialAndFloat64) {
  const int n = GetParam();
  const std::string shape = std::to_string(24 * n) + "x" + std::to_string(8 * n) + "x" + std::to_string(16 * n);
  for (const char* chunks : {"4", "5"}) {
    SCOPED_TRACE(chunks);
    expect_all_right(gemm(n, "--pattern ag_gemm,gemm_rs,gemm_ar --method all --shape " + shape + " --chunks " + chunks),
                     every({"ag_gemm", "gemm_rs", "gemm_ar"}));
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, MegatronRanks, ::testing::Values(1, 2, 3, 4));

TEST(Megatron, LayerEqualsTheUnsplitLayerAtTwoAndFourRanks) {
  for (int n : {2, 4}) {
    SCOPED_TRACE(n);
    expect_all_right(gemm(n, "--pattern layer --model tiny --method all --chunks 3"), every({"layer"}));
  }
}

TEST(Megatron, CorruptedChunkIsCountedElementByElement) {
  // 2 ranks, ag_gemm 48x8x16: C is [48, 4] per rank; the hook spoils the first 48/4 = 12 rows of each rank's C.
  const GemmRun r = gemm(2, "--pattern ag_gemm --method all --shape 48x8x16 --chunks 4 --corrupt-result-for-test");
  EXPECT_NE(r.outcome.status, 0) << r.outcome.output;
  for (const auto& row : r.doc.at("rows"))
    EXPECT_EQ(row.at("wrong"), row.at("method") == "serial" ? 0 : 2 * 12 * 4) << row.dump();
}

TEST(Megatron, BadInputIsRefusedInOneLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"--tp 3", "--tp 3 does not divide the 2 ranks"},
      {"--pattern ag_gemm --shape 9x8x8", "M 9 is not a multiple of the tensor-parallel size 2"},
      {"--pattern gemm_rs --shape 8x8x9", "K 9 is not a multiple of the tensor-parallel size 2"},
      {"--shape 8x8", "--shape '8x8' is not MxNxK"},
      {"--pattern ag_gemm --shape 8x8x8 --method pipelined --chunks 9", "--chunks 9 must be between 1 and the 4 rows"},
      {"--dtype bfloat16", "--dtype bfloat16: GEMMs on cpu run in float"},
      {"--pattern layer", "--pattern layer needs --model"},
      {"--method fast", "'fast' is not one of serial, pipelined, ring, all"},
  };
  for (const auto& [args, message] : cases) {
    const GemmRun r = gemm(2, args);
    EXPECT_EQ(r.outcome.status, 2) << args << "\n" << r.outcome.output;
    EXPECT_NE(r.outcome.output.find(message), std::string::npos) << args << "\n" << r.outcome.output;
  }
  const GemmRun heads = gemm(3, "--pattern layer --model tiny");
  EXPECT_EQ(heads.outcome.status, 2) << heads.outcome.output;
  EXPECT_NE(heads.outcome.output.find("--tp 3 does not divide the 4 attention heads of tiny"), std::string::npos)
      << heads.outcome.output;
}

TEST(Megatron, CsvAndJsonCarryTheSameRows) {
  const fs::path csv = fs::temp_directory_path() / ("megatron_" + std::to_string(::getpid()) + ".csv");
  const GemmRun r = gemm(2, "--pattern gemm_ar --method serial,ring --shape 16x8x8 --csv " + csv.string());
  ASSERT_EQ(r.outcome.status, 0) << r.outcome.output;
  std::ifstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("pattern,method,m,n,k,chunks,t_gemm_us", 0), 0u) << header;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 2);
  EXPECT_EQ(r.doc.at("rows").size(), 2u);
  EXPECT_EQ(r.doc.at("config").at("tp"), 2);
  EXPECT_EQ(r.doc.at("benchmark"), "megatron");
}

// --metrics-file: after the run the file holds the last row (the ring one), with the time the JSON document has.
TEST(Megatron, MetricsFileHoldsTheLastRow) {
  const fs::path prom = fs::temp_directory_path() / ("megatron_" + std::to_string(::getpid()) + ".prom");
  fs::remove(prom);
  const GemmRun r = gemm(2, "--pattern gemm_ar --method serial,ring --shape 16x8x8 --metrics-file " + prom.string());
  ASSERT_EQ(r.outcome.status, 0) << r.outcome.output;
  const std::string text = awsdt::testing::read_bytes(prom.string());
  EXPECT_NE(text.find("awsdt_step{benchmark=\"megatron\""), std::string::npos) << text;
  std::istringstream in(text);
  double seconds = -1;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("awsdt_tp_gemm_comm_seconds{", 0) == 0 && line.find("method=\"ring\"") != std::string::npos &&
        line.find("pattern=\"gemm_ar\"") != std::string::npos && line.find("shape=\"16x8x8\"") != std::string::npos)
      seconds = std::stod(line.substr(line.rfind(' ') + 1));
  const double want = r.doc.at("rows").at(1).at("t_us").get<double>() * 1e-6;
  EXPECT_NEAR(seconds, want, want * 1e-6) << text;
  fs::remove(prom);
}

// What the README and docs/megatron.md show: awsdt run megatron, locally, with the test case's defaults (train at
// TP 2 with SP and overlap), and the gemm benchmark through `--` (none of train's default flags reach it).
TEST(Megatron, AwsdtRunMegatronAsTyped) {
  const std::string awsdt = awsdt::testing::built_executable("awsdt");
  const fs::path state = fs::temp_directory_path() / ("megatron_state_" + std::to_string(::getpid()));
  const std::string run = "env XDG_STATE_HOME=" + state.string() + " " + awsdt + " run megatron";
  const Outcome train = run_command(run, 600);
  EXPECT_EQ(train.status, 0) << train.output;
  EXPECT_NE(train.output.find("tensor parallel: 2 | data parallel: 1 | sequence parallel: on"), std::string::npos)
      << train.output;
  EXPECT_NE(train.output.find("step 20/20 | Loss: "), std::string::npos) << train.output;
  EXPECT_NE(train.output.find("(2 TP rank(s), overlapped: ring)"), std::string::npos) << train.output;
  const Outcome gemm = run_command(run + " -- gemm --pattern ag_gemm,gemm_rs -n 5 -w 2", 600);
  EXPECT_EQ(gemm.status, 0) << gemm.output;
  EXPECT_NE(gemm.output.find("# wrong elements: 0"), std::string::npos) << gemm.output;
  fs::remove_all(state);
}

// `awsdt render megatron` for the clusters users run it on: training at TP 8 + SP on GPU nodes.
TEST(Megatron, RendersForSlurmEksAndBatch) {
  const std::string awsdt = awsdt::testing::built_executable("awsdt");
  const fs::path dir = fs::temp_directory_path() / ("megatron_render_" + std::to_string(::getpid()));
  const std::pair<std::string, std::string> clusters[] = {
      {"slurm -N 1 --instance-type p5.48xlarge", "job.sbatch"},
      {"eks -N 2 --instance-type p5.48xlarge --container img:1", "mpijob.yaml"},
      {"batch -N 2 --instance-type p5.48xlarge --container img:1 --queue q", "job-definition.json"}};
  for (const auto& [cluster, file] : clusters) {
    const fs::path out = dir / file;
    const Outcome r = run_command("env XDG_STATE_HOME=" + dir.string() + " " + awsdt + " render megatron --cluster " +
                                      cluster + " -o " + out.string(),
                                  60);
    ASSERT_EQ(r.status, 0) << cluster << "\n" << r.output;
    std::ifstream in(out / file);
    std::stringstream text;
    text << in.rdbuf();
    // GPU nodes train at TP 8 within the node (the manifest's cluster_args); as a list on EKS/Batch.
    for (const char* word : {"awsdt-megatron", "train", "cuda", "llama3_1_8b", "--tp", "--sequence-parallel", "8192"})
      EXPECT_NE(text.str().find(word), std::string::npos) << cluster << ": no " << word << "\n" << text.str();
  }
  fs::remove_all(dir);
}

}  // namespace
