// awsdt-exporter as a running server: scraped over HTTP (1,000 scrapes leak neither memory nor descriptors), and
// scraped by a real Prometheus (Debian's) that the test starts on loopback ports with the shipped alert rules:
// PromQL through its HTTP API returns every counter's value and a rate() once the fake counters advance.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "fake_sysfs.hpp"
#include "process.hpp"
#include "support/executables.hpp"
#include "support/run_command.hpp"

namespace fs = std::filesystem;
using namespace awsdt::exporter::testing;
using awsdt::testing::built_executable;
using nlohmann::json;

namespace {

// A value of /proc/<pid>/status ("VmRSS") in kB.
long proc_status_kb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

long open_fds(pid_t pid) {
  long n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

class Served : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("awsdt_exporter_serve_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "metrics");
    make_efa_tree(dir_ / "sys", 2, 2);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts the exporter on a free port and returns it.
  int start_exporter() {
    auto e = awsdt::exporter::testing::start_exporter(
        built_executable("awsdt-exporter"),
        {"--root", dir_.string(), "--metrics-dir", (dir_ / "metrics").string(), "--collectors", "efa,awsdt"},
        dir_ / "exporter.log");
    exporter_ = std::move(e.process);
    EXPECT_GT(e.port, 0) << "the exporter did not start: " << read_text(dir_ / "exporter.log");
    return e.port;
  }

  fs::path dir_;
  std::unique_ptr<Process> exporter_;
};

TEST_F(Served, ThousandScrapesLeakNoMemoryOrDescriptors) {
  const int port = start_exporter();
  ASSERT_GT(port, 0);
  httplib::Client http("127.0.0.1", port);
  auto scrape = [&] {
    auto r = http.Get("/metrics");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    ASSERT_NE(r->body.find("node_amazonefa_tx_bytes{device=\"efa_1\",port=\"2\"} 2020032"), std::string::npos);
  };
  for (int i = 0; i < 200; ++i) scrape();  // warm up: the server's threads and buffers reach their size
  // Counted once the server has closed the last connection (it does so after the response has gone out).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long rss0 = proc_status_kb(exporter_->pid(), "VmRSS"), fds0 = open_fds(exporter_->pid());
  for (int i = 0; i < 1000; ++i) scrape();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long rss1 = proc_status_kb(exporter_->pid(), "VmRSS"), fds1 = open_fds(exporter_->pid());
  EXPECT_EQ(fds1, fds0);
  // 512 kB over 1,000 scrapes: a leak of 512 bytes per scrape (one counter's line) would show.
  EXPECT_LT(rss1 - rss0, 512) << "VmRSS " << rss0 << " kB -> " << rss1 << " kB";
  EXPECT_LT(rss1, 20 * 1024) << "VmRSS " << rss1 << " kB";
  EXPECT_EQ(exporter_->stop(), 0) << read_text(dir_ / "exporter.log");
}

TEST_F(Served, BadFlagsAreOneLineAndStatusTwo) {
  const std::string bin = built_executable("awsdt-exporter");
  auto o = awsdt::testing::run_command(bin + " --collectors efa,nic", 10);
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("nic"), std::string::npos) << o.output;
  o = awsdt::testing::run_command(bin + " --listen 127.0.0.1:99999", 10);
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("--listen '127.0.0.1:99999'"), std::string::npos) << o.output;
  const int port = start_exporter();  // the port is taken now
  o = awsdt::testing::run_command(bin + " --listen 127.0.0.1:" + std::to_string(port), 10);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("cannot listen there"), std::string::npos) << o.output;
}

// PromQL instant query through Prometheus' HTTP API: the result vector.
json query(httplib::Client& prom, const std::string& promql) {
  auto r = prom.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
  if (!r || r->status != 200) return json::array();
  return json::parse(r->body)["data"]["result"];
}

TEST_F(Served, RealPrometheusScrapesEveryCounterAndItsRate) {
  if (std::system("command -v prometheus >/dev/null") != 0) GTEST_SKIP() << "prometheus is not installed";
  const int port = start_exporter();
  ASSERT_GT(port, 0);
  const int prom_port = free_port();
  std::ofstream(dir_ / "prometheus.yml") << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                                         << "rule_files: ['" << AWSDT_SOURCE_DIR
                                         << "/validation/observability/alerts.yml']\n"
                                         << "scrape_configs:\n  - job_name: awsdt-exporter\n    honor_labels: true\n"
                                         << "    static_configs: [{targets: ['127.0.0.1:" << port << "']}]\n";
  Process prometheus({"prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
                      "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                     (dir_ / "prometheus.log").string());
  httplib::Client prom("127.0.0.1", prom_port);
  json counters = json::array();
  for (int i = 0; i < 150 && counters.size() < kEfaCounters.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    counters = query(prom, R"({__name__=~"node_amazonefa_.+",device="efa_1",port="2"})");
  }
  ASSERT_GE(counters.size(), kEfaCounters.size()) << read_text(dir_ / "prometheus.log");
  for (std::size_t c = 0; c < kEfaCounters.size(); ++c) {
    const auto r = query(prom, "node_amazonefa_" + kEfaCounters[c] + R"({device="efa_1",port="2"})");
    ASSERT_EQ(r.size(), 1u) << kEfaCounters[c];
    EXPECT_EQ(std::stod(r[0]["value"][1].get<std::string>()), double(counter_value(1, 2, c))) << kEfaCounters[c];
  }
  // tx_bytes of efa_0 port 1 advances 1,000 bytes every 100 ms (10 kB/s) for 6 s.
  const unsigned long long start = counter_value(0, 1, 32);
  for (int step = 1; step <= 60; ++step) {
    write_counter(dir_ / "sys", "efa_0", 1, "tx_bytes", std::to_string(start + 1000ULL * step));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto r = query(prom, R"(rate(node_amazonefa_tx_bytes{device="efa_0",port="1"}[4s]))");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NEAR(std::stod(r[0]["value"][1].get<std::string>()), 10000, 2500);
  EXPECT_EQ(query(prom, R"(rate(node_amazonefa_tx_bytes{device="efa_1",port="2"}[4s]))")[0]["value"][1], "0");
  // The shipped rules load and evaluate against these series without error.
  auto rules = prom.Get("/api/v1/rules");
  ASSERT_TRUE(rules);
  std::size_t evaluated = 0;
  const json body = json::parse(rules->body);
  for (const auto& group : body["data"]["groups"])
    for (const auto& rule : group["rules"]) {
      EXPECT_EQ(rule["health"], "ok") << rule.dump();
      ++evaluated;
    }
  EXPECT_EQ(evaluated, 4u) << rules->body;
  EXPECT_EQ(prometheus.stop(), 0) << read_text(dir_ / "prometheus.log");
  if (HasFailure()) std::cerr << read_text(dir_ / "prometheus.log");
  EXPECT_EQ(exporter_->stop(), 0);
}

}  // namespace
