// `awsdt results` on documents the real executables wrote (a 2-rank collectives sweep and an fsdp run): compare,
// the gate against a copy edited to regress by 10% (fails at 5%, passes at 15%), unlike runs refused naming the
// difference, an nccl-tests table read and compared, and the plots and HTML report opened in headless Chromium.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::mpirun;
using awsdt::testing::Outcome;
using awsdt::testing::read_bytes;
using awsdt::testing::read_json;
using awsdt::testing::run_command;
using awsdt::testing::temp_path;
namespace fs = std::filesystem;

namespace {

const std::string kAwsdt = awsdt::testing::built_executable("awsdt");

class Results : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sweep_ = temp_path("results", "sweep.json");
    fsdp_ = temp_path("results", "fsdp.json");
    const Outcome c = run_command(mpirun(2) + awsdt::testing::built_executable("awsdt-collectives") +
                                      " all_reduce -b 1K -e 64K -f 2 -n 5 -w 1 -J " + sweep_,
                                  120);
    ASSERT_EQ(c.status, 0) << c.output;
    const Outcome f = run_command(
        awsdt::testing::built_executable("awsdt-fsdp") + " --model tiny --threads 1 --steps 4 --output " + fsdp_, 120);
    ASSERT_EQ(f.status, 0) << f.output;
  }

  static Outcome results(const std::string& args) {
    return run_command("env XDG_STATE_HOME=" + temp_path("results", "state") + " " + kAwsdt + " results " + args, 60);
  }

  // A copy of `file` with `edit` applied to its JSON.
  template <class F>
  static std::string edited(const std::string& file, const std::string& name, F edit) {
    nlohmann::json doc = read_json(file);
    edit(doc);
    const std::string out = temp_path("results", name);
    std::ofstream(out) << doc.dump();
    return out;
  }

  static inline std::string sweep_, fsdp_;
};

TEST_F(Results, GateFailsATenPercentRegressionAtFiveAndPassesAtFifteen) {
  const std::string slower = edited(sweep_, "slower.json", [](nlohmann::json& d) {
    for (auto& row : d["rows"]) row["out_of_place"]["bus_bw"] = row["out_of_place"]["bus_bw"].get<double>() * 0.9;
  });
  const Outcome at5 = results("gate " + sweep_ + " " + slower + " --max-regression 5%");
  EXPECT_EQ(at5.status, 1) << at5.output;
  EXPECT_NE(at5.output.find("average busbw (GB/s)"), std::string::npos) << at5.output;
  EXPECT_NE(at5.output.find("10.0%"), std::string::npos) << at5.output;
  const Outcome at15 = results("gate " + sweep_ + " " + slower + " --max-regression 15%");
  EXPECT_EQ(at15.status, 0) << at15.output;

  const std::string fewer = edited(fsdp_, "fewer.json", [](nlohmann::json& d) {
    d["summary"]["median_tokens_per_s"] = d["summary"]["median_tokens_per_s"].get<double>() * 0.9;
  });
  EXPECT_EQ(results("gate " + fsdp_ + " " + fewer + " --max-regression 5%").status, 1);
  EXPECT_EQ(results("gate " + fsdp_ + " " + fewer + " --max-regression 15%").status, 0);
  // A per-metric threshold overrides the general one.
  EXPECT_EQ(results("gate " + fsdp_ + " " + fewer + " --max-regression 5% --metric 'median tokens/s=20%'").status, 0);
}

TEST_F(Results, CompareShowsEverySizeWithRatios) {
  const Outcome o = results("compare " + sweep_ + " " + sweep_ + " --csv");
  ASSERT_EQ(o.status, 0) << o.output;
  // 7 sizes x (busbw, algbw, time) + the average: every ratio of a run to itself is 1.
  int rows = 0;
  std::istringstream in(o.output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // RFC 4180 lines end in CRLF
    if (line.find("all_reduce float sum") == 0 || line.find("summary") == 0) {
      ++rows;
      EXPECT_EQ(line.substr(line.rfind(',') + 1), "1.000") << line;
    }
  }
  EXPECT_EQ(rows, 7 * 3 + 1) << o.output;
}

TEST_F(Results, UnlikeRunsAreRefusedNamingTheDifference) {
  const Outcome o = results("compare " + sweep_ + " " + fsdp_);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("differ in benchmark: collectives vs fsdp"), std::string::npos) << o.output;
  const std::string other = edited(fsdp_, "small.json", [](nlohmann::json& d) { d["config"]["model"] = "small"; });
  const Outcome m = results("compare " + fsdp_ + " " + other);
  EXPECT_EQ(m.status, 2) << m.output;
  EXPECT_NE(m.output.find("differ in model: \"tiny\" vs \"small\""), std::string::npos) << m.output;
  EXPECT_EQ(results("compare " + fsdp_ + " " + other + " --force").status, 0);
}

// nccl-tests' own table (its documented stdout layout), two ranks, the same sizes as the sweep.
TEST_F(Results, AnNcclTestsTableIsReadAndCompared) {
  std::string table =
      "# nThread 1 nGpus 1 minBytes 1024 maxBytes 65536 step: 2(factor) warmup iters: 1 iters: 5 agg iters: 1 "
      "validation: 1 graph: 0\n#\n# Using devices\n#  Rank  0 Group  0 Pid  1 on   host0 device  0 [0x53] NVIDIA H100\n"
      "#  Rank  1 Group  0 Pid  2 on   host0 device  1 [0x64] NVIDIA H100\n#\n"
      "#                                                              out-of-place                       in-place\n"
      "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw "
      "#wrong\n#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  "
      "(GB/s)\n";
  for (long size = 1024; size <= 65536; size *= 2)
    table += std::to_string(size) + "  " + std::to_string(size / 4) + "  float  sum  -1  10.00  " +
             std::to_string(size / 10000.0) + "  " + std::to_string(size / 10000.0) + "  0  10.0  1.0  1.0  0\n";
  table += "# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 2.0\n#\n";
  // nccl-tests prints no collective's name: its binary's, in the log's file name, says which.
  const std::string log = temp_path("results", "all_reduce_perf.log");
  std::ofstream(log) << table;
  const Outcome o = results("compare " + sweep_ + " " + log + " --csv");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("all_reduce float sum,65536,busbw,"), std::string::npos) << o.output;
  const Outcome show = results("show " + log);
  ASSERT_EQ(show.status, 0) << show.output;
  EXPECT_NE(show.output.find("| collectives | started  | 2 rank(s)"), std::string::npos) << show.output;
}

// The pictures as a person sees them: Chromium renders the HTML report and the plots; a screenshot must have
// the window's size and much more in it than a blank page's.
TEST_F(Results, PlotsAndReportOpenInHeadlessChromium) {
  if (run_command("sh -c 'command -v chromium'").status != 0) GTEST_SKIP() << "chromium is not installed";
  const std::string report = temp_path("results", "report.html"), png = temp_path("results", "plot.png"),
                    svg = temp_path("results", "fsdp.svg"), blank = temp_path("results", "blank.html");
  ASSERT_EQ(results("report " + sweep_ + " " + sweep_ + " -o " + report).status, 0);
  ASSERT_EQ(results("plot " + sweep_ + " -o " + png).status, 0);
  ASSERT_EQ(results("plot " + fsdp_ + " -o " + svg).status, 0);
  EXPECT_EQ(read_bytes(png).substr(1, 3), "PNG");
  std::ofstream(blank) << "<html><body></body></html>";
  auto shot = [](const std::string& page) {
    const std::string out = page + ".png";
    run_command("timeout 60 chromium --headless --no-sandbox --disable-gpu --window-size=1000,800 --screenshot=" + out +
                    " file://" + page,
                90);
    return read_bytes(out);
  };
  const std::string empty = shot(blank);
  ASSERT_GT(empty.size(), 24u) << "chromium took no screenshot";
  for (const std::string& page : {report, svg}) {
    const std::string image = shot(page);
    ASSERT_GT(image.size(), 24u) << page;
    // PNG IHDR: width and height, big-endian, at bytes 16 and 20.
    auto be32 = [&](std::size_t at) {
      return (std::uint32_t(std::uint8_t(image[at])) << 24) | (std::uint32_t(std::uint8_t(image[at + 1])) << 16) |
             (std::uint32_t(std::uint8_t(image[at + 2])) << 8) | std::uint8_t(image[at + 3]);
    };
    EXPECT_EQ(be32(16), 1000u) << page;
    EXPECT_EQ(be32(20), 800u) << page;
    EXPECT_GT(image.size(), 5 * empty.size()) << page << ": the screenshot is nearly blank";
  }
}

// awsdt run --plot draws the finished job's result beside it.
TEST_F(Results, RunWithPlotDrawsTheResultBesideIt) {
  const std::string state = temp_path("results", "plot-state");
  const Outcome o =
      run_command("env XDG_STATE_HOME=" + state + " " + kAwsdt + " run collectives --plot -- -e 64K", 120);
  ASSERT_EQ(o.status, 0) << o.output;
  const auto at = o.output.find("awsdt: plotted ");
  ASSERT_NE(at, std::string::npos) << o.output;
  const std::string svg = o.output.substr(at + 15, o.output.find('\n', at) - at - 15);
  EXPECT_NE(read_bytes(svg).find("<svg"), std::string::npos) << svg;
  fs::remove_all(state);
}

// awsdt-fabric's documents compare too: latency and bandwidth per size, the headline figures per series.
TEST_F(Results, FabricRunsCompare) {
  const std::string a = temp_path("results", "fabric-a.json"), b = temp_path("results", "fabric-b.json");
  const std::string fabric =
      awsdt::testing::built_executable("awsdt-fabric") + " pingpong --loopback -p shm -b 8 -e 1K -f 4 -n 20 -w 2 -J ";
  ASSERT_EQ(run_command(fabric + a, 60).status, 0);
  ASSERT_EQ(run_command(fabric + b, 60).status, 0);
  const Outcome o = results("compare " + a + " " + b);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("pingpong msg shm latency at 8 B (us)"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("bandwidth_GBps"), std::string::npos) << o.output;
}

}  // namespace
