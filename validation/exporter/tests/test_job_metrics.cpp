// A running training job seen through the exporter, as the docs tell users to wire it:
//   awsdt-exporter --metrics-dir DIR ... and awsdt run fsdp -- --metrics-file DIR/fsdp.prom
// loss and tokens/s are served by the second logged step, with the values the job prints. Then every metric
// that the shipped Grafana dashboard and alert rules name is one the exporter serves (EFA from a fake tree, GPUs
// from the fake NVML, the jobs' files from real awsdt-fsdp and awsdt-collectives runs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "fake_sysfs.hpp"
#include "process.hpp"
#include "support/executables.hpp"
#include "support/run_command.hpp"

namespace fs = std::filesystem;
using namespace awsdt::exporter::testing;
using awsdt::testing::built_executable;

namespace {

// The value of the first sample of `name` in an exposition, or nullopt.
std::optional<double> sample(const std::string& text, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\n" + name + "\\{[^}]*\\} ([^\n]+)"))) return std::nullopt;
  return std::stod(m[1]);
}

// Metric names a PromQL expression reads: identifiers outside strings, label matchers, grouping clauses and
// range selectors that are neither functions (followed by '(') nor keywords.
std::set<std::string> metric_names(std::string expr) {
  for (const char* re : {R"("[^"]*")", R"(\{[^}]*\})", R"(\[[^\]]*\])",
                         R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))", R"(\$\w+)"})
    expr = std::regex_replace(expr, std::regex(re), " ");
  static const std::set<std::string> keywords{"and", "or", "unless", "bool", "offset", "by", "without"};
  std::set<std::string> out;
  const std::regex word(R"([a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?)");
  for (std::sregex_iterator it(expr.begin(), expr.end(), word), end; it != end; ++it) {
    const std::string w = (*it)[0];
    if (w.back() == '(' || keywords.count(w)) continue;
    const auto at = std::size_t(it->position());
    if (at > 0 && (std::isdigit(static_cast<unsigned char>(expr[at - 1])) || expr[at - 1] == '.')) continue;  // 1e3
    out.insert(w);
  }
  return out;
}

class JobMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("awsdt_exporter_job_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "metrics");
  }
  void TearDown() override { fs::remove_all(dir_); }
  int start_exporter(std::vector<std::string> args) {
    args.insert(args.begin(), {"--metrics-dir", (dir_ / "metrics").string()});
    auto e = awsdt::exporter::testing::start_exporter(built_executable("awsdt-exporter"), args, dir_ / "exporter.log");
    exporter_ = std::move(e.process);
    return e.port;
  }
  fs::path dir_;
  std::unique_ptr<Process> exporter_;
};

TEST_F(JobMetrics, RunningFsdpShowsLossAndThroughputWithinTwoLoggedSteps) {
  const int port = start_exporter({"--collectors", "awsdt"});
  ASSERT_GT(port, 0) << read_text(dir_ / "exporter.log");
  httplib::Client http("127.0.0.1", port);
  // The default fsdp job: 20 steps, a line every 5 (steps 1, 5, 10, 15, 20).
  Process job({built_executable("awsdt"), "run", "fsdp", "--job-dir", (dir_ / "job").string(), "--", "--metrics-file",
               (dir_ / "metrics" / "fsdp.prom").string()},
              (dir_ / "job.log").string());
  double first_step = 0;
  while (job.running() && first_step == 0) {
    auto r = http.Get("/metrics");
    if (r && sample(r->body, "awsdt_loss") && sample(r->body, "awsdt_tokens_per_second"))
      first_step = *sample(r->body, "awsdt_step");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int status = job.wait(540);
  ASSERT_EQ(status, 0) << read_text(dir_ / "job.log");
  EXPECT_GE(first_step, 1) << "the exporter never showed the job's loss while it ran";
  EXPECT_LE(first_step, 5) << "first seen at step " << first_step;
  // The served figures are the job's last step line's.
  const std::string log = read_text(dir_ / "job.log");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(step 20/20 \| Loss: ([0-9.]+) .*tokens/s: ([0-9.]+) \|)")))
      << log;
  const auto body = http.Get("/metrics")->body;
  EXPECT_NEAR(*sample(body, "awsdt_loss"), std::stod(m[1]), 1e-6);
  EXPECT_NEAR(*sample(body, "awsdt_tokens_per_second"), std::stod(m[2]), 0.051);
  EXPECT_EQ(*sample(body, "awsdt_step"), 20);
  EXPECT_NE(body.find("benchmark=\"fsdp\""), std::string::npos);
  EXPECT_NE(body.find("rank=\"0\""), std::string::npos);
}

TEST_F(JobMetrics, DashboardAndAlertsNameOnlyServedMetrics) {
  auto fsdp = awsdt::testing::run_command(awsdt::testing::mpirun(2) + built_executable("awsdt-fsdp") +
                                              " --model tiny --steps 2 --metrics-file " +
                                              (dir_ / "metrics" / "fsdp.prom").string(),
                                          300);
  ASSERT_EQ(fsdp.status, 0) << fsdp.output;
  auto coll = awsdt::testing::run_command(awsdt::testing::mpirun(2) + built_executable("awsdt-collectives") +
                                              " all_reduce -b 1K -e 4K -n 2 -w 1 --metrics-file " +
                                              (dir_ / "metrics" / "coll.prom").string(),
                                          300);
  ASSERT_EQ(coll.status, 0) << coll.output;
  make_efa_tree(dir_ / "sys", 1, 1);
  std::ofstream(dir_ / "nvml.json") << nlohmann::json{
      {"gpus",
       {{{"name", "H100"},
         {"uuid", "GPU-0"},
         {"utilization", {{"gpu", 1}, {"memory", 1}}},
         {"memory", {{"total", 1 << 30}, {"used", 1 << 20}}},
         {"temperature", 50},
         {"power_mw", 100000},
         {"clocks", {{"sm", 1}, {"mem", 1}}},
         {"throttle_reasons", 0},
         {"volatile_uncorrected", 0},
         {"nvlinks", {1}},
         {"nvlink_errors", {{0, 0, 0, 0}}},
         {"xids", {79}}}}}}.dump();
  ::setenv("AWSDT_FAKE_NVML", (dir_ / "nvml.json").c_str(), 1);
  const int port = start_exporter({"--sysfs", (dir_ / "sys").string(), "--nvml-library", FAKE_NVML});
  ::unsetenv("AWSDT_FAKE_NVML");
  ASSERT_GT(port, 0) << read_text(dir_ / "exporter.log");
  httplib::Client http("127.0.0.1", port);
  std::set<std::string> served;
  for (int i = 0; i < 100; ++i) {  // until the Xid event has been counted
    const auto r = http.Get("/metrics");
    ASSERT_TRUE(r);
    served.clear();
    std::istringstream lines(r->body);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && line[0] != '#') served.insert(line.substr(0, line.find_first_of("{ ")));
    if (served.count("DCGM_FI_DEV_XID_ERRORS")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::vector<std::string> exprs;
  const auto dashboard =
      nlohmann::json::parse(read_text(AWSDT_SOURCE_DIR "/validation/observability/dashboards/awsdt-training.json"));
  for (const auto& panel : dashboard["panels"])
    for (const auto& target : panel.value("targets", nlohmann::json::array())) exprs.push_back(target["expr"]);
  // Variables: label_values(METRIC, LABEL): the metric is the expression.
  for (const auto& v : dashboard["templating"]["list"])
    if (v.contains("definition")) {
      const std::string d = v["definition"];
      exprs.push_back(d.substr(d.find('(') + 1, d.find(',') - d.find('(') - 1));
    }
  const YAML::Node rules = YAML::LoadFile(AWSDT_SOURCE_DIR "/validation/observability/alerts.yml");
  for (const auto& group : rules["groups"])
    for (const auto& rule : group["rules"]) exprs.push_back(rule["expr"].as<std::string>());
  ASSERT_GT(exprs.size(), 20u);
  std::size_t names = 0;
  for (const auto& e : exprs)
    for (const auto& name : metric_names(e)) {
      EXPECT_TRUE(served.count(name)) << name << " (in: " << e << ") is not served";
      ++names;
    }
  EXPECT_GT(names, exprs.size());
  EXPECT_EQ(metric_names("rate(a_b{x=\"y\"}[5m]) / on(i) b > 0.01 and c"), (std::set<std::string>{"a_b", "b", "c"}));
}

}  // namespace
