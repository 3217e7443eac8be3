// awsdt-fabric end to end over the tcp and shm providers: every test, message kind and a few sizes in --loopback and
// at 2 ranks under mpirun, with -c finding no wrong byte; the check's hook is reported; JSON and CSV; bad input.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "awsdt/config.hpp"
#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::mpirun;
using awsdt::testing::Outcome;
using awsdt::testing::run_command;

namespace {

const std::string kExe = awsdt::testing::built_executable("awsdt-fabric");
// Every test, both message kinds, sizes 1 B to 64 KiB (across tcp's and shm's inject sizes), few iterations.
const std::string kAll = " all -m msg,tagged -c -b 1 -e 64K -f 16 -n 20 -w 2 -W 8 -T 30";

int count_rows(const std::string& text) {
  static const std::regex row(R"(^\s+\d+\s+\d+(\s+[\d.]+){8}\s+\d+\s*$)");
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += std::regex_match(line, row);
  return n;
}

// 5 tests; pingpong, bw and bibw twice (msg, tagged), rma once: 8 tables of 5 sizes (1, 16, 256, 4K, 64K).
constexpr int kRows = 8 * 5;

void expect_clean(const Outcome& r) {
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("# Wrong bytes: 0 OK"), std::string::npos) << r.output;
  EXPECT_EQ(count_rows(r.output), kRows) << r.output;
  EXPECT_EQ(r.output.find("skipped"), std::string::npos) << r.output;
}

TEST(Fabric, LoopbackShmEveryTestChecked) { expect_clean(run_command(kExe + " --loopback -p shm" + kAll, 120)); }

TEST(Fabric, LoopbackTcpEveryTestChecked) { expect_clean(run_command(kExe + " --loopback -p tcp" + kAll, 120)); }

TEST(Fabric, TwoRanksShmEveryTestCheckedWithJsonAndCsv) {
  auto json = awsdt::testing::temp_path("fabric", "shm.json"), csv = awsdt::testing::temp_path("fabric", "shm.csv");
  auto r = run_command(mpirun(2) + kExe + " -p shm" + kAll + " -J " + json + " --csv " + csv, 120);
  expect_clean(r);
  auto doc = awsdt::testing::read_json(json);
  EXPECT_EQ(doc["benchmark"], "fabric");
  EXPECT_EQ(doc["rows"].size(), std::size_t(kRows));
  EXPECT_EQ(doc["summary"]["wrong_bytes"], 0);
  EXPECT_EQ(doc["summary"]["fi_info"][0]["provider"], "shm");
  for (const auto& row : doc["rows"]) EXPECT_GT(row["bandwidth_gbytes_per_s"].get<double>(), 0) << row;
  auto text = awsdt::testing::read_bytes(csv);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), kRows + 1);
}

TEST(Fabric, TwoRanksTcpEveryTestChecked) { expect_clean(run_command(mpirun(2) + kExe + " -p tcp" + kAll, 120)); }

TEST(Fabric, CorruptedByteIsReported) {
  auto r = run_command(kExe + " --loopback -p shm pingpong bw -c -b 8 -e 8 -n 5 -w 1 --corrupt-for-test", 60);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("FAILED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("check failed: wrong bytes"), std::string::npos) << r.output;
}

TEST(Fabric, UnknownProviderNamesTheOnesThatExist) {
  auto r = run_command(kExe + " --loopback -p nosuch", 60);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("nosuch"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("shm"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tcp"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(Fabric, MinBwFailsBelowTheFloor) {
  auto r = run_command(kExe + " --loopback -p shm bw -b 4K -e 4K -n 5 -w 1 --min-bw 1e6", 60);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("min bw bw"), std::string::npos) << r.output;
}

TEST(Fabric, HmemCudaSaysWhyItCannotRun) {
  if (AWSDT_HAVE_CUDA) GTEST_SKIP() << "built with CUDA: the GPU test covers --hmem cuda";
  auto r = run_command(kExe + " --loopback -p shm --hmem cuda", 60);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("built without CUDA"), std::string::npos) << r.output;
}

TEST(Fabric, WindowAboveTheProviderQueueIsRefused) {
  auto r = run_command(kExe + " --loopback -p shm bw -W 4096 -b 8 -e 8 -n 2", 60);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("-W/--window 4096: provider shm queues at most"), std::string::npos) << r.output;
}

TEST(Fabric, BadInputIsOneLineAndStatus2) {
  for (const char* args : {" --loopback -b 2M -e 1M", " --loopback nosuchtest", " --loopback -b 12Q",
                           " --loopback -m raw", " --loopback -d lo --all-devices"}) {
    auto r = run_command(kExe + args, 30);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
  }
}

}  // namespace
