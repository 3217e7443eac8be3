// The collectors on fake trees, a fake NVML and hand-written metrics files: every sample checked by name,
// labels and value against what the test wrote.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "awsdt_collector.hpp"
#include "efa_collector.hpp"
#include "fake_sysfs.hpp"
#include "gpu_collector.hpp"

namespace fs = std::filesystem;
using namespace awsdt::exporter;
using namespace awsdt::exporter::testing;

namespace {

struct Scraped {
  std::vector<prometheus::MetricFamily> families;
  std::string why;
  const prometheus::MetricFamily* family(const std::string& name) const {
    for (const auto& f : families)
      if (f.name == name) return &f;
    return nullptr;
  }
  /// The sample of `name` whose labels include every pair of `want`, or nullopt.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& want) const {
    const auto* f = family(name);
    if (!f) return std::nullopt;
    for (const auto& m : f->metric) {
      std::size_t matched = 0;
      for (const auto& l : m.label) matched += want.count(l.name) && want.at(l.name) == l.value;
      if (matched != want.size()) continue;
      if (f->type == prometheus::MetricType::Counter) return m.counter.value;
      if (f->type == prometheus::MetricType::Gauge) return m.gauge.value;
      return m.untyped.value;
    }
    return std::nullopt;
  }
};

Scraped scrape(const Collector& c) {
  FamilySet out;
  Scraped s;
  s.why = c.collect(out);
  s.families = out.take();
  return s;
}

class Tree : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("awsdt_exporter_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(Tree, EveryCounterOfTwoDevicesTwoPortsWithItsLabelsAndValue) {
  make_efa_tree(dir_, 2, 2);
  const Scraped s = scrape(EfaCollector(dir_));
  ASSERT_EQ(s.why, "");
  for (int d = 0; d < 2; ++d)
    for (int p = 1; p <= 2; ++p)
      for (std::size_t c = 0; c < kEfaCounters.size(); ++c) {
        const std::string name = "node_amazonefa_" + kEfaCounters[c];
        const auto v = s.value(name, {{"device", "efa_" + std::to_string(d)}, {"port", std::to_string(p)}});
        ASSERT_TRUE(v) << name << " device " << d << " port " << p;
        EXPECT_EQ(*v, double(counter_value(d, p, c))) << name;
        EXPECT_EQ(s.family(name)->type, prometheus::MetricType::Counter);
        EXPECT_EQ(s.family(name)->metric.size(), 4u) << name;
      }
  EXPECT_EQ(s.family("node_amazonefa_info")->metric.size(), 2u);
  EXPECT_EQ(s.value("node_amazonefa_port_state_id", {{"device", "efa_1"}, {"port", "2"}}), 4);
  EXPECT_EQ(s.value("node_amazonefa_port_physical_state_id", {{"device", "efa_0"}, {"port", "1"}}), 5);
  EXPECT_EQ(s.value("node_amazonefa_port_rate_bytes_per_second", {{"device", "efa_0"}, {"port", "1"}}), 12.5e9);
  EXPECT_EQ(s.families.size(), kEfaCounters.size() + 4);
}

TEST_F(Tree, NotApplicableGarbledAndHugeValues) {
  write_counter(dir_, "efa_0", 1, "lifespan", "N/A (no PMA)\n");
  write_counter(dir_, "efa_0", 1, "tx_bytes", "12abc\n");
  write_counter(dir_, "efa_0", 1, "rx_drops", "-5\n");
  write_counter(dir_, "efa_0", 1, "tx_pkts", "\n");
  write_counter(dir_, "efa_0", 1, "rx_pkts", "18446744073709551616\n");   // 2^64: does not fit
  write_counter(dir_, "efa_0", 1, "rx_bytes", "18446744073709551615\n");  // 2^64 - 1
  write_counter(dir_, "efa_0", 1, "send_bytes", "  42  \n");
  fs::create_directories(dir_ / "class/infiniband/efa_0/ports/1/hw_counters/recv_bytes");  // not a file
  const Scraped s = scrape(EfaCollector(dir_));
  ASSERT_EQ(s.why, "");
  for (const char* skipped : {"lifespan", "tx_bytes", "rx_drops", "tx_pkts", "rx_pkts", "recv_bytes"})
    EXPECT_EQ(s.family(std::string("node_amazonefa_") + skipped), nullptr) << skipped;
  EXPECT_EQ(s.value("node_amazonefa_rx_bytes", {{"port", "1"}}), double(std::numeric_limits<std::uint64_t>::max()));
  EXPECT_EQ(s.value("node_amazonefa_send_bytes", {{"port", "1"}}), 42);
}

TEST_F(Tree, DevicesAndFilesAppearAndVanishBetweenScrapes) {
  const EfaCollector efa(dir_);
  EXPECT_NE(scrape(efa).why.find("class/infiniband"), std::string::npos);  // no EFA: down, with the reason
  make_efa_tree(dir_, 1, 1);
  EXPECT_TRUE(scrape(efa).value("node_amazonefa_tx_bytes", {{"device", "efa_0"}}));
  make_efa_tree(dir_, 2, 1);
  EXPECT_TRUE(scrape(efa).value("node_amazonefa_tx_bytes", {{"device", "efa_1"}}));
  fs::remove(dir_ / "class/infiniband/efa_0/ports/1/hw_counters/tx_bytes");
  Scraped s = scrape(efa);
  EXPECT_FALSE(s.value("node_amazonefa_tx_bytes", {{"device", "efa_0"}}));
  EXPECT_TRUE(s.value("node_amazonefa_rx_bytes", {{"device", "efa_0"}}));
  fs::remove_all(dir_ / "class/infiniband/efa_1");
  s = scrape(efa);
  EXPECT_FALSE(s.value("node_amazonefa_rx_bytes", {{"device", "efa_1"}}));
  EXPECT_EQ(s.family("node_amazonefa_info")->metric.size(), 1u);
}

// A counter file removed and recreated while scrapes run: each scrape either has it, with its value, or not.
TEST_F(Tree, CounterFileVanishingDuringScrapes) {
  make_efa_tree(dir_, 1, 1);
  const fs::path file = dir_ / "class/infiniband/efa_0/ports/1/hw_counters/rx_drops";
  write_counter(dir_, "efa_0", 1, "rx_drops", "77\n");  // the value the flapping file always has
  std::atomic<bool> stop{false};
  std::thread flapper([&] {
    while (!stop) {
      fs::remove(file);
      write_counter(dir_, "efa_0", 1, "rx_drops", "77\n");
    }
  });
  int with = 0, without = 0;
  const EfaCollector efa(dir_);
  for (int i = 0; i < 300; ++i) {
    const Scraped s = scrape(efa);
    ASSERT_EQ(s.why, "");
    const auto v = s.value("node_amazonefa_rx_drops", {});
    // Written but still empty (between create and write) reads as "", which is skipped: never a wrong number.
    if (v) EXPECT_EQ(*v, 77);
    (v ? with : without)++;
    EXPECT_TRUE(s.value("node_amazonefa_tx_bytes", {}));
  }
  stop = true;
  flapper.join();
  EXPECT_GT(with + without, 0);
}

TEST_F(Tree, MetricsFilesServedWithTheirLabelsAndABadOneFlagged) {
  std::ofstream(dir_ / "fsdp.prom") << "# HELP awsdt_loss Loss.\n# TYPE awsdt_loss gauge\n"
                                       "awsdt_loss{benchmark=\"fsdp\",job=\"12\",rank=\"0\"} 2.25\n"
                                       "awsdt_tokens_per_second{job=\"12\",rank=\"0\",note=\"a \\\"q\\\"\"} 1.5e3 17\n";
  std::ofstream(dir_ / "other.prom") << "awsdt_loss{job=\"13\",rank=\"1\"} NaN\n";
  std::ofstream(dir_ / "bad.prom") << "awsdt_loss{job=\"14\" 3\n";
  std::ofstream(dir_ / "fsdp.prom.tmp.host.1.abc") << "awsdt_loss{job=\"99\"} 1\n";  // a writer's temporary file
  const Scraped s = scrape(AwsdtCollector(dir_));
  ASSERT_EQ(s.why, "");
  EXPECT_EQ(s.value("awsdt_loss", {{"job", "12"}, {"rank", "0"}, {"benchmark", "fsdp"}}), 2.25);
  EXPECT_EQ(s.family("awsdt_loss")->type, prometheus::MetricType::Gauge);
  EXPECT_EQ(s.value("awsdt_tokens_per_second", {{"note", "a \"q\""}}), 1500);
  EXPECT_TRUE(std::isnan(*s.value("awsdt_loss", {{"job", "13"}})));
  EXPECT_FALSE(s.value("awsdt_loss", {{"job", "14"}}));
  EXPECT_FALSE(s.value("awsdt_loss", {{"job", "99"}}));
  EXPECT_EQ(s.value("awsdt_exporter_metrics_file_error", {{"file", "bad.prom"}}), 1);
  EXPECT_EQ(s.value("awsdt_exporter_metrics_file_error", {{"file", "fsdp.prom"}}), 0);
  EXPECT_EQ(scrape(AwsdtCollector(dir_ / "absent")).why, "");  // no job has written yet
}

TEST_F(Tree, GpuCollectorReadsNvmlUnderDcgmNames) {
  const fs::path state = dir_ / "nvml.json";
  nlohmann::json gpu = {{"name", "NVIDIA H100 80GB HBM3"},
                        {"uuid", "GPU-abc"},
                        {"utilization", {{"gpu", 97}, {"memory", 40}}},
                        {"memory", {{"total", 80ULL << 30}, {"used", 1ULL << 30}}},
                        {"temperature", 61},
                        {"power_mw", 650500},
                        {"energy_mj", 123456789},
                        {"clocks", {{"sm", 1980}, {"mem", 2619}}},
                        {"throttle_reasons", 4},
                        {"volatile_corrected", 3},
                        {"volatile_uncorrected", 1},
                        {"nvlinks", {1, 1, 0}},
                        {"nvlink_errors", {{1, 2, 3, 4}, {10, 20, 30, 40}, {0, 0, 0, 0}}},
                        {"xids", {79, 79, 13}}};
  std::ofstream(state) << nlohmann::json{{"gpus", {gpu, {{"name", "second"}}}}}.dump();
  ::setenv("AWSDT_FAKE_NVML", state.c_str(), 1);
  const GpuCollector c(FAKE_NVML);
  Scraped s;
  for (int i = 0; i < 100; ++i) {  // Xids arrive as events, on the collector's own thread
    s = scrape(c);
    if (s.value("awsdt_gpu_xid_errors", {{"gpu", "0"}}) == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(s.why, "");
  const std::map<std::string, std::string> g0{
      {"gpu", "0"}, {"UUID", "GPU-abc"}, {"modelName", "NVIDIA H100 80GB HBM3"}};
  EXPECT_EQ(s.value("DCGM_FI_DEV_GPU_UTIL", g0), 97);
  EXPECT_EQ(s.value("DCGM_FI_DEV_MEM_COPY_UTIL", g0), 40);
  EXPECT_EQ(s.value("DCGM_FI_DEV_FB_USED", g0), 1024);
  EXPECT_EQ(s.value("DCGM_FI_DEV_FB_FREE", g0), 79 * 1024);
  EXPECT_EQ(s.value("DCGM_FI_DEV_GPU_TEMP", g0), 61);
  EXPECT_EQ(s.value("DCGM_FI_DEV_POWER_USAGE", g0), 650.5);
  EXPECT_EQ(s.value("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", g0), 123456789);
  EXPECT_EQ(s.value("DCGM_FI_DEV_SM_CLOCK", g0), 1980);
  EXPECT_EQ(s.value("DCGM_FI_DEV_MEM_CLOCK", g0), 2619);
  EXPECT_EQ(s.value("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", g0), 4);
  EXPECT_EQ(s.value("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", g0), 3);
  EXPECT_EQ(s.value("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", g0), 1);
  EXPECT_FALSE(s.value("DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", g0));  // not in the file: unsupported, no sample
  EXPECT_EQ(s.value("DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL", g0), 11);
  EXPECT_EQ(s.value("DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL", g0), 44);
  EXPECT_EQ(s.value("awsdt_gpu_nvlinks_active", g0), 2);
  EXPECT_EQ(s.value("awsdt_gpu_xid_errors", g0), 3);
  EXPECT_EQ(s.value("awsdt_gpu_xid_errors_total", {{"gpu", "0"}, {"xid", "79"}}), 2);
  EXPECT_EQ(s.value("DCGM_FI_DEV_XID_ERRORS", g0), 13);
  EXPECT_FALSE(s.value("DCGM_FI_DEV_GPU_UTIL", {{"gpu", "1"}}));  // the second GPU supports nothing
  EXPECT_EQ(s.value("awsdt_gpu_xid_errors", {{"gpu", "1"}, {"modelName", "second"}}), 0);
  ::unsetenv("AWSDT_FAKE_NVML");
}

TEST(GpuCollector, WithoutNvmlReportsItselfDown) {
  const GpuCollector c("/nonexistent/libnvidia-ml.so.1");
  const Scraped s = scrape(c);
  EXPECT_NE(s.why.find("cannot load /nonexistent/libnvidia-ml.so.1"), std::string::npos) << s.why;
  EXPECT_TRUE(s.families.empty());
}

}  // namespace
