// awsdt-collectives end to end under mpirun: correctness of every collective, the check's ability to fail,
// the nccl-tests table format (parsed with a regex written from nccl-tests' documented layout), the JSON and
// CSV outputs against the table, the bandwidth formulas, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "comm/nccl/nccl_communicator.hpp"
#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::mpirun;
using awsdt::testing::Outcome;
using awsdt::testing::run_command;

namespace {

const std::string kExe = awsdt::testing::built_executable("awsdt-collectives");

// One data line of an nccl-tests table: size count type redop root, then time algbw busbw #wrong twice.
struct TableRow {
  long long size, count;
  std::string type, redop;
  int root;
  double time[2], algbw[2], busbw[2];
  std::string wrong[2];
};

struct ParsedTable {
  std::vector<TableRow> rows;
  long long out_of_bounds = -1;
  double avg_busbw = -1;
  std::vector<std::string> unparsed;  // non-comment lines that are not data rows
};

ParsedTable parse_nccl_tests_output(const std::string& text) {
  static const std::regex row(
      R"(^\s*(\d+)\s+(\d+)\s+(\w+)\s+(\w+)\s+(-?\d+)\s+([\d.e+]+|N/A)\s+([\d.e+]+|N/A)\s+([\d.e+]+|N/A)\s+(\d+|N/A)\s+([\d.e+]+|N/A)\s+([\d.e+]+|N/A)\s+([\d.e+]+|N/A)\s+(\d+|N/A)\s*$)");
  static const std::regex oob(R"(^# Out of bounds values\s*:\s*(\d+)\s+(OK|FAILED)\s*$)");
  static const std::regex avg(R"(^# Avg bus bandwidth\s*:\s*([\d.e+-]+).*$)");
  ParsedTable t;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  auto num = [](const std::string& s) { return s == "N/A" ? NAN : std::stod(s); };
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, oob))
      t.out_of_bounds = std::stoll(m[1]);
    else if (std::regex_match(line, m, avg))
      t.avg_busbw = std::stod(m[1]);
    else if (std::regex_match(line, m, row))
      t.rows.push_back({std::stoll(m[1]),
                        std::stoll(m[2]),
                        m[3],
                        m[4],
                        std::stoi(m[5]),
                        {num(m[6]), num(m[10])},
                        {num(m[7]), num(m[11])},
                        {num(m[8]), num(m[12])},
                        {m[9], m[13]}});
    else if (!line.empty() && line[0] != '#')
      t.unparsed.push_back(line);
  }
  return t;
}

std::string temp_path(const std::string& name) { return awsdt::testing::temp_path("coll", name); }
using awsdt::testing::read_json;

}  // namespace

class EveryCollective : public ::testing::TestWithParam<int> {};

// Every collective x every dtype x every op with the check on: zero wrong elements at 2, 3 and 4 ranks.
TEST_P(EveryCollective, ReportsZeroWrong) {
  int np = GetParam();
  auto o = run_command(mpirun(np) + kExe + " all -b 8 -e 8K -f 8 -d all -o all -c 1 -n 2 -w 1", 600);
  ASSERT_EQ(o.status, 0) << o.output;
  auto t = parse_nccl_tests_output(o.output);
  EXPECT_TRUE(t.unparsed.empty()) << "unparsed line: " << t.unparsed.front();
  EXPECT_EQ(t.out_of_bounds, 0);
  // 4 sizes x 10 dtypes x (3 reducing collectives x 5 ops + 4 others).
  EXPECT_EQ(t.rows.size(), 4u * 10u * (3u * 5u + 4u));
  std::size_t in_place_na = 0;
  for (const auto& r : t.rows) {
    EXPECT_EQ(r.wrong[0], "0") << r.size << " " << r.type << " " << r.redop;
    if (r.wrong[1] == "N/A")
      ++in_place_na;
    else
      EXPECT_EQ(r.wrong[1], "0") << r.size << " " << r.type << " " << r.redop;
  }
  EXPECT_EQ(in_place_na, 4u * 10u);  // send_recv only: in place is not defined for a ring
}

INSTANTIATE_TEST_SUITE_P(Ranks, EveryCollective, ::testing::Values(2, 3, 4));

TEST(Collectives, CorruptedResultIsCountedAndFails) {
  // Ranks 0, 1 and 2 spoil 1, 2 and 3 elements of each result: 6 per variant, counted on every rank, every one.
  auto o = run_command(mpirun(3) + kExe + " all_reduce -b 1K -e 1K -c 1 -n 1 -w 0 --corrupt-result-for-test");
  EXPECT_EQ(o.status, 1) << o.output;
  auto t = parse_nccl_tests_output(o.output);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].wrong[0], "6");
  EXPECT_EQ(t.rows[0].wrong[1], "6");
  EXPECT_EQ(t.out_of_bounds, 12);
  EXPECT_NE(o.output.find("# Out of bounds values : 12 FAILED"), std::string::npos) << o.output;
}

// The table, the JSON and the CSV agree, and the bandwidths follow nccl-tests' formulas.
TEST(Collectives, TableJsonAndCsvAgreeAndFollowTheFormulas) {
  auto json_path = temp_path("golden.json"), csv_path = temp_path("golden.csv");
  auto o = run_command(mpirun(4) + kExe + " all -b 4K -e 64K -f 4 -n 3 -w 1 -J " + json_path + " --csv " + csv_path);
  ASSERT_EQ(o.status, 0) << o.output;
  auto t = parse_nccl_tests_output(o.output);
  ASSERT_EQ(t.rows.size(), 7u * 3u);
  auto doc = read_json(json_path);
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["benchmark"], "collectives");
  EXPECT_EQ(doc["world_size"], 4);
  EXPECT_EQ(doc["backend"], "mpi");
  EXPECT_TRUE(doc["passed"].get<bool>());
  EXPECT_EQ(doc["results"], doc["rows"]);  // nccl-tests' -J layout beside ours
  EXPECT_EQ(doc["out_of_bounds"]["count"], 0);
  ASSERT_EQ(doc["rows"].size(), t.rows.size());
  const std::map<std::string, double> busbw_factor{
      {"all_reduce", 2.0 * 3 / 4}, {"all_gather", 3.0 / 4}, {"reduce_scatter", 3.0 / 4}, {"all_to_all", 3.0 / 4},
      {"broadcast", 1.0},          {"reduce", 1.0},         {"send_recv", 1.0}};
  double busbw_sum = 0;
  int halves = 0;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    const auto& j = doc["rows"][i];
    EXPECT_EQ(j["size"].get<long long>(), row.size);
    EXPECT_EQ(j["count"].get<long long>(), row.count);
    EXPECT_EQ(j["type"], row.type);
    EXPECT_EQ(j["redop"], row.redop);
    EXPECT_EQ(std::stoi(j["root"].get<std::string>()), row.root);
    std::string name = j["experiment_name"];
    for (int h = 0; h < 2; ++h) {
      const auto& half = j[h == 0 ? "out_of_place" : "in_place"];
      if (half.is_null()) {
        EXPECT_EQ(row.wrong[h], "N/A");
        continue;
      }
      double time = half["time"], algbw = half["alg_bw"], busbw = half["bus_bw"];
      EXPECT_NEAR(time, row.time[h], 0.006 + 0.0006 * time) << name;  // the table rounds for display
      EXPECT_NEAR(busbw, row.busbw[h], 0.006) << name;
      // algbw = bytes / time, in 1e9 B/s; the size column already counts every rank's block.
      EXPECT_NEAR(algbw, double(row.size) / 1e3 / time, 1e-9 * algbw + 1e-12) << name;
      EXPECT_NEAR(busbw, algbw * busbw_factor.at(name), 1e-9 * busbw + 1e-12) << name;
      busbw_sum += busbw;
      ++halves;
    }
  }
  double avg = doc["summary"]["average_bus_bandwidth"]["bandwidth"];
  EXPECT_NEAR(avg, busbw_sum / halves, 1e-9 * avg);
  EXPECT_NEAR(avg, t.avg_busbw, 1e-4 * avg + 1e-6);

  std::ifstream csv(csv_path);
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 1 + 21);  // header + one row per size and collective
  std::filesystem::remove(json_path);
  std::filesystem::remove(csv_path);
}

TEST(Collectives, PerIterationTimingAddsColumns) {
  auto o = run_command(mpirun(2) + kExe + " all_reduce -b 1K -e 1K -n 5 -w 1 -I");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("i_p99"), std::string::npos);
  std::regex row(
      R"(^\s*1024\s+256\s+float\s+sum\s+-1(\s+[\d.e+]+){4}(\s+[\d.e+]+){4}(\s+[\d.e+]+){4}(\s+[\d.e+]+){4}\s*$)");
  bool found = false;
  std::istringstream in(o.output);
  std::string line;
  while (std::getline(in, line)) found |= std::regex_match(line, row);
  EXPECT_TRUE(found) << o.output;
}

TEST(Collectives, MinBusbwFailsTheRun) {
  auto o = run_command(mpirun(2) + kExe + " all_reduce -b 1K -e 1K -n 2 --min-busbw 100000");
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_NE(o.output.find("FAILED"), std::string::npos);
  EXPECT_NE(o.output.find("check failed: min busbw"), std::string::npos) << o.output;
}

struct BadInput {
  std::string args;
  std::string message;
  bool needs_ranks;
};

class CollectivesBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CollectivesBadInput, OneClearLineAndNonZeroExit) {
  const auto& p = GetParam();
  auto o = run_command((p.needs_ranks ? mpirun(2) : std::string()) + kExe + " " + p.args);
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.output.find(p.message), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("Segmentation"), std::string::npos) << o.output;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CollectivesBadInput,
    ::testing::Values(BadInput{"-b 1M -e 1K", "-b/--minbytes 1048576 is larger than -e/--maxbytes 1024", false},
                      BadInput{"-b 1K -e 1M -f 0", "-f/--stepfactor 0 would never advance", false},
                      BadInput{"-b 1K -e 1M -f 1 -i 0", "-i/--stepbytes 0 with -f 1 would never advance", false},
                      BadInput{"-d float17", "unknown datatype 'float17'", false},
                      BadInput{"-o median", "unknown reduction op 'median'", false},
                      BadInput{"all_scatter", "unknown collective 'all_scatter'", false},
                      BadInput{"-b 12Q", "invalid --minbytes '12Q'", false},
                      BadInput{"--frobnicate", "--frobnicate", false},
                      BadInput{"broadcast -r 5 -b 1K -e 1K", "-r/--root 5 is out of range for 2 ranks", true},
                      BadInput{"-G 2 -b 1K -e 1K", "-G/--cudagraph 2 needs the NCCL backend", true},
                      BadInput{"-g 2 -b 1K -e 1K --backend mpi", "-g 2 needs --backend nccl", true},
                      // nccl-tests' flags that are not implemented: refused, the flag named with the reason.
                      BadInput{"-t 2", "-t/--nthreads 2: awsdt-collectives drives each process's GPUs from one", false},
                      BadInput{"-N 0", "-N/--run_cycles 0 (run forever) is not supported", false},
                      BadInput{"-y 1", "-y/--stream_null 1: awsdt-collectives issues every operation", false},
                      BadInput{"-R 1", "-R/--local_register 1: NCCL buffer registration", false},
                      BadInput{"-x 1", "-x/--cta_policy 1: awsdt-collectives does not set NCCL's CTA policy", false},
                      BadInput{"-D 1", "-D/--device_implementation 1", false},
                      BadInput{"-V 16", "-V/--device_cta_count 16: only meaningful with -D", false},
                      BadInput{"-M 1", "-M/--memory_report 1: a GPU memory report is not implemented", false},
                      BadInput{"-S 1", "-S/--report_timestamps 1: a timestamp column is not implemented", false},
                      BadInput{"-u 1", "-u 1: not a flag of NVIDIA's nccl-tests", false},
                      BadInput{"-C 1 -I", "-C/--report_cputime 1 with -I/--per_iter_timing", false}));

// nccl-tests' -m (several operations per timed iteration, one group), -N (every size again, printed again), -c N
// (N checks) and -p (one thread: nothing to initialise in parallel) as all_reduce_perf takes them.
TEST(Collectives, AggregatedIterationsRunCyclesAndRepeatedChecks) {
  auto json_path = temp_path("agg.json");
  auto o = run_command(mpirun(2) + kExe + " all_reduce send_recv -b 1K -e 4K -f 2 -m 4 -N 2 -c 3 -p 1 -n 3 -w 1 -J " +
                       json_path);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("agg iters: 4 validation: 3"), std::string::npos) << o.output;
  auto t = parse_nccl_tests_output(o.output);
  EXPECT_TRUE(t.unparsed.empty()) << t.unparsed.front();
  ASSERT_EQ(t.rows.size(), 2u * 2u * 3u);  // 2 collectives x 2 cycles x 3 sizes, in cycle order
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    EXPECT_EQ(t.rows[i].size, 1024LL << (i % 3)) << i;
    EXPECT_EQ(t.rows[i].wrong[0], "0");
    EXPECT_GT(t.rows[i].time[0], 0);
  }
  auto doc = read_json(json_path);
  EXPECT_EQ(doc["config"]["aggregated_iterations"], 4);
  EXPECT_EQ(doc["config"]["run_cycles"], 2);
  EXPECT_EQ(doc["results"].size(), 12u);
  std::filesystem::remove(json_path);
}

// -c 3 with a corrupted result: the first check finds the 3 wrong elements and stops (they are not counted 3x).
TEST(Collectives, RepeatedChecksStopAtTheFirstFailure) {
  auto o = run_command(mpirun(2) + kExe + " all_reduce -b 1K -e 1K -c 3 -n 1 -w 0 --corrupt-result-for-test");
  EXPECT_EQ(o.status, 1) << o.output;
  auto t = parse_nccl_tests_output(o.output);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].wrong[0], "3");
}

// -C 1: the time columns are the host time of issuing each operation, labelled cputime as nccl-tests does.
TEST(Collectives, ReportCpuTimeRelabelsTheTimeColumns) {
  auto o = run_command(mpirun(2) + kExe + " all_reduce -b 64K -e 64K -C 1 -n 5 -w 1");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("root  cputime   algbw   busbw  #wrong  cputime"), std::string::npos) << o.output;
  auto t = parse_nccl_tests_output(o.output);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_GT(t.rows[0].time[0], 0);
}

TEST(Collectives, LoneCopiesOfAMultiTaskLaunchAreDetected) {
  auto o = run_command("env SLURM_NTASKS=4 " + kExe + " -b 1K -e 1K");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("SLURM_NTASKS=4 says 4 tasks were launched"), std::string::npos) << o.output;
}

// A straggler is a gap of more than 5% and more than 5 us between ranks; the table names at most one per
// collective (the widest) unless -v lists them all. Eight ranks on this machine's cores disagree often.
TEST(Collectives, StragglerLinesAreFewAndAboveTheNoiseFloor) {
  const std::string cmd = mpirun(8) + kExe + " all_reduce all_gather -b 8 -e 256K -f 2 -n 20 -w 2";
  auto count_and_check = [](const std::string& output) {
    static const std::regex gap(R"(slowest rank \d+ on \S+ ([\d.]+) us, fastest rank \d+ on \S+ ([\d.]+) us)");
    int lines = 0;
    std::istringstream in(output);
    std::smatch m;
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("# Straggler: ")) continue;
      ++lines;
      EXPECT_TRUE(std::regex_search(line, m, gap)) << line;
      if (!m.empty()) EXPECT_GT(std::stod(m[1]) - std::stod(m[2]), 5.0) << line;
    }
    return lines;
  };
  auto o = run_command(cmd, 300);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_LE(count_and_check(o.output), 2) << o.output;  // all_reduce and all_gather: one line each at most
  auto verbose = run_command(cmd + " -v", 300);
  ASSERT_EQ(verbose.status, 0) << verbose.output;
  count_and_check(verbose.output);
}

// What NCCL runs print about their network (GPU runs only; the line itself is tested here on any build). With
// NCCL_NET set NCCL starts only on that network, so the line can say it is the one in use.
TEST(NcclNetwork, TheLineSaysWhatNcclNetPins) {
  EXPECT_EQ(awsdt::nccl_network_line("AWS Libfabric", 2),
            "NCCL network: AWS Libfabric (NCCL_NET: NCCL does not start without it, so it is the one in use)");
  EXPECT_NE(awsdt::nccl_network_line("AWS Libfabric", 1).find("every rank is on one host"), std::string::npos);
  EXPECT_NE(awsdt::nccl_network_line(nullptr, 4).find("not pinned (NCCL_NET is not set)"), std::string::npos);
  EXPECT_NE(awsdt::nccl_network_line("", 4).find("else TCP sockets"), std::string::npos);
  EXPECT_EQ(awsdt::nccl_network_line(nullptr, 1),
            "NCCL network: none needed, every rank is on one host (NCCL_NET is not set)");
}
