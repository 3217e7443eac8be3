// Every check's pass and failure paths on a fake node (fake_tree.hpp): the severity each failure is documented to
// have (docs/healthcheck.md, data/checks.json), the Xid table row by row, the per-check timeout and the exit status.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "checks/checks.hpp"
#include "cluster.hpp"
#include "fake_tree.hpp"
#include "health_report.hpp"
#include "check_runner.hpp"
#include "awsdt/config.hpp"
#include "device/device.hpp"

namespace awsdt::health {
namespace {

using testing::FakeNode;

Outcome run(const std::string& id, const Context& ctx) {
  return run_in_process(check_info(id), check_function(id), ctx);
}

// The severity the check reports, by name, and its failure keys.
std::string severity(const Outcome& o) { return std::string(severity_name(o.severity())); }
std::vector<std::string> keys(const Outcome& o) {
  std::vector<std::string> k;
  auto doc = o.to_json();
  for (const auto& f : doc["failures"]) k.push_back(f["key"]);
  return k;
}

class Checks : public ::testing::Test {
 protected:
  FakeNode node;
};

TEST_F(Checks, HealthyP5PassesEveryNodeCheck) {
  auto ctx = node.context();
  ASSERT_EQ(ctx.instance_type, "p5.48xlarge");
  ctx.settings.require_mounts = {"/fsx"};
  ctx.settings.efa_provider = "tcp";  // the EFA provider does not exist here; tcp does
  ctx.settings.min_free_disk_gib = 0.001;
  ctx.settings.dcgmi = "/nonexistent/dcgmi";
  for (const auto& c : check_infos()) {
    if (c.in_suite("intensive") || c.in_suite("cluster")) continue;
    auto o = run(c.id, ctx);
    std::string expected = c.id == "dcgm-l2" ? "SKIP" : "PASS";
    EXPECT_EQ(o.status(), expected) << c.id << ": " << o.details();
  }
}

TEST_F(Checks, WrongGpuCountIsolates) {
  node.nvml["gpus"].erase(7);
  auto o = run("gpu-inventory", node.context());
  EXPECT_EQ(severity(o), "ISOLATE");
  EXPECT_EQ(keys(o), std::vector<std::string>{"count"});
  EXPECT_NE(o.details().find("7 GPUs visible, p5.48xlarge has 8"), std::string::npos) << o.details();
}

TEST_F(Checks, WrongGpuModelIsolates) {
  node.nvml["gpus"][3]["name"] = "NVIDIA A100-SXM4-80GB";
  auto o = run("gpu-inventory", node.context());
  EXPECT_EQ(severity(o), "ISOLATE");
  EXPECT_EQ(keys(o), std::vector<std::string>{"model"});
}

TEST_F(Checks, PersistenceOffIsMonitor) {
  node.nvml["gpus"][0]["persistence"] = 0;
  auto o = run("gpu-inventory", node.context());
  EXPECT_EQ(severity(o), "MONITOR");
  EXPECT_EQ(o.status(), "WARN");
}

TEST_F(Checks, NvmlMissingIsolatesAGpuInstanceAndSkipsAnUnknownOne) {
  auto ctx = node.context();
  ctx.settings.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  auto o = run("gpu-inventory", ctx);
  EXPECT_EQ(severity(o), "ISOLATE");
  EXPECT_EQ(keys(o), std::vector<std::string>{"nvml_unavailable"});
  ctx.expect.reset();
  EXPECT_EQ(run("gpu-inventory", ctx).status(), "SKIP");
  ctx.expect = expectation_for("g5.12xlarge");  // a GPU instance, but nvml.json has 8 H100s: count and model
  ctx.settings.nvml_library = FAKE_NVML;
  EXPECT_EQ(keys(run("gpu-inventory", ctx)), (std::vector<std::string>{"count", "model", "model", "model", "model",
                                                                       "model", "model", "model", "model"}));
  ctx.expect = expectation_for("trn1.32xlarge");
  EXPECT_EQ(run("gpu-ecc", ctx).status(), "SKIP");
}

struct EccCase {
  std::string group, field;
  int value;
  std::string severity, key;
};

TEST_F(Checks, EccFailuresHaveTheSeedsSeverities) {
  for (const auto& c : std::vector<EccCase>{{"retired_pages", "dbe", 1, "ISOLATE", "retired_dbe"},
                                            {"retired_pages", "pending", 1, "REBOOT", "retired_pending"},
                                            {"", "volatile_uncorrected", 2, "RESET", "volatile_uncorrected"},
                                            {"retired_pages", "sbe", 61, "MONITOR", "retired_sbe"},
                                            {"retired_pages", "sbe", 60, "PASS", ""},
                                            {"remapped_rows", "failure", 1, "ISOLATE", "remap_failure"},
                                            {"remapped_rows", "pending", 1, "REBOOT", "remap_pending"}}) {
    FakeNode fresh;
    auto& gpu = fresh.nvml["gpus"][5];
    (c.group.empty() ? gpu[c.field] : gpu[c.group][c.field]) = c.value;
    auto o = run("gpu-ecc", fresh.context());
    EXPECT_EQ(severity(o), c.severity) << c.field << "=" << c.value << ": " << o.details();
    if (!c.key.empty()) EXPECT_EQ(keys(o), std::vector<std::string>{c.key});
    if (!c.key.empty()) EXPECT_NE(o.details().find("GPU 5"), std::string::npos);
  }
}

TEST_F(Checks, EccFieldsNvmlDoesNotSupportAreNotFailures) {
  for (auto& g : node.nvml["gpus"]) g.erase("retired_pages");  // H100s retire rows by remapping, not pages
  EXPECT_EQ(run("gpu-ecc", node.context()).status(), "PASS");
}

// Every row of the Xid table, read from the data file itself, through the check on a kernel log.
TEST_F(Checks, EveryXidRowGivesItsSeverity) {
  std::ifstream in(std::string(HC_SOURCE_DIR) + "/../data/xid_actions.json");
  auto table = nlohmann::json::parse(in);
  int rows = 0;
  for (const auto& row : table["rows"])
    for (const auto& xid : row["xids"]) {
      node.write("/dev/kmsg", "4,1,1,-;NVRM: Xid (PCI:0000:53:00): " + std::to_string(xid.get<int>()) + ", pid=1234\n");
      auto o = run("gpu-xid", node.context());
      EXPECT_EQ(severity(o), row["severity"].get<std::string>()) << "Xid " << xid << ": " << o.details();
      EXPECT_EQ(o.to_json()["measured"]["xids"][std::to_string(xid.get<int>())], 1);
      ++rows;
    }
  EXPECT_GE(rows, 40);
}

TEST_F(Checks, XidSeveritiesOfTheSeed) {
  struct Case {
    std::string line, instance, severity;
  };
  for (const auto& c : std::vector<Case>{
           {"NVRM: Xid (PCI:0000:53:00): 79, pid=0, GPU has fallen off the bus.", "p5.48xlarge", "REBOOT"},
           {"NVRM: Xid (PCI:0000:53:00): 54, pid=0, Auxiliary power is not connected", "p5.48xlarge", "ISOLATE"},
           {"NVRM: Xid (PCI:0000:53:00): 48, pid=0, An uncorrectable double bit error", "p5.48xlarge", "RESET"},
           {"NVRM: Xid (PCI:0000:10:1c): 64, pid=0, ECC page retirement or row remapper failure", "p5.48xlarge",
            "RESET"},
           {"NVRM: Xid (PCI:0000:10:1c): 64, pid=0, ECC page retirement or row remapper failure", "p4d.24xlarge",
            "REBOOT"},
           {"NVRM: Xid (PCI:0000:53:00): 154, pid=0, GPU recovery action changed to 0x2 (Node Reboot Required)",
            "p5.48xlarge", "REBOOT"},
           {"NVRM: Xid (PCI:0000:53:00): 154, pid=0, GPU recovery action changed to 0x1 (GPU Reset Required)",
            "p5.48xlarge", "RESET"},
           {"NVRM: Xid (PCI:0000:53:00): 154, pid=0, GPU recovery action changed to 0x0 (None)", "p5.48xlarge",
            "MONITOR"},
           {"NVRM: Xid (PCI:0000:53:00): 31, pid=1, name=python, Ch 00000008, MMU Fault", "p5.48xlarge", "MONITOR"},
           {"NVRM: Xid (PCI:0000:53:00): 999, pid=1, an Xid no table lists", "p5.48xlarge", "MONITOR"}}) {
    FakeNode fresh;
    fresh.write("/sys/devices/virtual/dmi/id/product_name", c.instance + "\n");
    fresh.kernel_log(c.line);
    EXPECT_EQ(severity(run("gpu-xid", fresh.context())), c.severity) << c.instance << ": " << c.line;
  }
}

TEST_F(Checks, XidWorstOfSeveralAndCounted) {
  node.kernel_log("NVRM: Xid (PCI:0000:53:00): 31, pid=1, MMU Fault");
  node.kernel_log("NVRM: Xid (PCI:0000:53:00): 31, pid=2, MMU Fault");
  node.kernel_log("NVRM: Xid (PCI:0000:64:00): 79, pid=0, GPU has fallen off the bus.");
  auto o = run("gpu-xid", node.context());
  EXPECT_EQ(severity(o), "REBOOT");
  EXPECT_EQ(o.to_json()["measured"]["xids"]["31"], 2);
  EXPECT_NE(o.worst_detail().find("PCI:0000:64:00"), std::string::npos) << o.worst_detail();
}

TEST_F(Checks, UnreadableKernelLogIsMonitor) {
  node.remove("/dev/kmsg");
  EXPECT_EQ(keys(run("gpu-xid", node.context())), std::vector<std::string>{"kernel_log_unreadable"});
}

TEST_F(Checks, EfaFailures) {
  {
    FakeNode n;
    n.remove("/sys/class/infiniband/rdmap47s0");
    auto o = run("efa-devices", n.context());
    EXPECT_EQ(severity(o), "ISOLATE");
    EXPECT_EQ(keys(o), std::vector<std::string>{"count"}) << o.details();
  }
  {
    FakeNode n;
    n.remove("/dev/infiniband/uverbs31");
    EXPECT_EQ(keys(run("efa-devices", n.context())), std::vector<std::string>{"uverbs"});
  }
  {
    FakeNode n;
    n.write("/proc/modules", "ib_core 430080 2 - Live 0x0\n");
    auto o = run("efa-devices", n.context());
    EXPECT_EQ(severity(o), "ISOLATE");
    EXPECT_NE(o.details().find("efa, ib_uverbs"), std::string::npos) << o.details();
  }
  {
    FakeNode n;
    n.write("/proc/meminfo", "HugePages_Total:       0\n");
    EXPECT_EQ(severity(run("efa-devices", n.context())), "MONITOR");
  }
  {
    FakeNode n;  // a device of another vendor is not an EFA device
    n.write("/sys/class/infiniband/rdmap47s0/device/vendor", "0x15b3\n");
    EXPECT_EQ(keys(run("efa-devices", n.context())), std::vector<std::string>{"count"});
  }
  auto ctx = node.context();
  ctx.expect = expectation_for("g5.12xlarge");
  EXPECT_EQ(run("efa-devices", ctx).status(), "SKIP");
}

TEST_F(Checks, EfaProviderMissingIsolates) {
  auto ctx = node.context();
  ctx.settings.efa_provider = "efa-nonexistent";
  auto o = run("efa-provider", ctx);
#ifdef AWSDT_HEALTH_TEST_LIBFABRIC
  EXPECT_EQ(severity(o), "ISOLATE") << o.details();
  EXPECT_EQ(keys(o), std::vector<std::string>{"provider_missing"});
#else
  EXPECT_EQ(o.status(), "SKIP");
#endif
}

TEST_F(Checks, NvlinkDownResetsAndErrorsMonitor) {
  node.nvml["gpus"][2]["nvlinks"][7] = 0;
  auto o = run("nvlink", node.context());
  EXPECT_EQ(severity(o), "RESET");
  EXPECT_NE(o.details().find("GPU 2 NVLink 7 is down"), std::string::npos) << o.details();
  FakeNode n;
  n.nvml["gpus"][1]["nvlink_errors"] = {{0, 0, 0, 0}, {12, 1, 3, 0}};
  auto e = run("nvlink", n.context());
  EXPECT_EQ(severity(e), "MONITOR");
  EXPECT_NE(e.details().find("12 replay, 1 recovery, 3 CRC"), std::string::npos) << e.details();
}

TEST_F(Checks, FabricManagerStopped) {
  node.remove("/proc/4242");
  EXPECT_EQ(severity(run("fabric-manager", node.context())), "RESET");
}

TEST_F(Checks, SmallOrMissingShmIsolates) {
  auto ctx = node.context();
  ctx.settings.min_shm_gib = 1e9;  // more than any filesystem here holds: the fake /dev/shm is "small"
  auto o = run("shm", ctx);
  EXPECT_EQ(severity(o), "ISOLATE");
  EXPECT_EQ(keys(o), std::vector<std::string>{"small"});
  node.remove("/dev/shm");
  EXPECT_EQ(keys(run("shm", node.context())), std::vector<std::string>{"missing"});
}

TEST_F(Checks, MissingMountIsolates) {
  auto ctx = node.context();
  ctx.settings.require_mounts = {"/fsx", "/scratch"};
  auto o = run("mounts", ctx);
  EXPECT_EQ(severity(o), "ISOLATE");
  EXPECT_EQ(o.details(), "/scratch is not mounted");
}

TEST_F(Checks, LowDiskAndLimitsMonitor) {
  auto ctx = node.context();
  ctx.settings.min_free_disk_gib = 1e9;
  EXPECT_EQ(severity(run("disk", ctx)), "MONITOR");
  node.write("/proc/self/limits",
             "Max open files            1024                 4096                 files     \n"
             "Max locked memory         65536                65536                bytes     \n");
  EXPECT_EQ(keys(run("limits", node.context())), (std::vector<std::string>{"memlock", "nofile"}));
}

// A dcgmi that prints `json` and exits with `status`.
std::string fake_dcgmi(const FakeNode& node, const std::string& json, int status) {
  auto path = (node.dir() / "dcgmi").string();
  std::ofstream(path) << "#!/bin/sh\n[ \"$1 $2 $3 $4\" = \"diag -r 2 -j\" ] || exit 9\ncat <<'EOF'\n"
                      << json << "\nEOF\nexit " << status << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

std::string dcgm_doc(const std::string& status, const std::string& extra) {
  return R"({"DCGM GPU Diagnostic": {"test_categories": [{"category": "Hardware", "tests": [
    {"name": "GPU Memory", "results": [{"gpu_ids": "0", "status": "Pass"}, {"gpu_ids": "1", "status": ")" +
         status + R"(")" + extra + R"(}]}]}]}})";
}

TEST_F(Checks, DcgmDiagnosticsMapWarningLevels) {
  auto ctx = node.context();
  ctx.settings.dcgmi = fake_dcgmi(node, dcgm_doc("Pass", ""), 0);
  EXPECT_EQ(run("dcgm-l2", ctx).status(), "PASS");
  ctx.settings.dcgmi = fake_dcgmi(node, dcgm_doc("Fail", R"(, "warnings": [{"warning": "DBE detected"}])"), 226);
  auto fail = run("dcgm-l2", ctx);
  EXPECT_EQ(severity(fail), "ISOLATE");
  EXPECT_NE(fail.details().find("DBE detected"), std::string::npos) << fail.details();
  ctx.settings.dcgmi = fake_dcgmi(node, dcgm_doc("Fail", R"(, "warning_level": 2)"), 226);
  EXPECT_EQ(severity(run("dcgm-l2", ctx)), "RESET");
  ctx.settings.dcgmi = fake_dcgmi(node, dcgm_doc("Warn", ""), 0);
  EXPECT_EQ(severity(run("dcgm-l2", ctx)), "MONITOR");
  ctx.settings.dcgmi = fake_dcgmi(node, "Error: unable to connect to host engine", 1);
  EXPECT_EQ(keys(run("dcgm-l2", ctx)), std::vector<std::string>{"unparsable"});
  ctx.settings.dcgmi = "/nonexistent/dcgmi";
  EXPECT_EQ(run("dcgm-l2", ctx).status(), "SKIP");
}

TEST_F(Checks, SlowGemmIsolates) {
  auto ctx = node.context();
  ctx.settings.gemm_n = 256;
  ctx.settings.gemm_min_gflops = 1e9;  // a petaflop from a CPU core: this machine is "slow"
  auto o = run("gemm", ctx);
  EXPECT_EQ(severity(o), "ISOLATE") << o.details();
  EXPECT_GT(o.to_json()["measured"]["cpu_gflops"].get<double>(), 0.1);
  ctx.settings.gemm_min_gflops = 0.01;
  EXPECT_EQ(run("gemm", ctx).status(), "PASS");
}

// gpu-membw with a fake GPU probe (as the fake NVML stands in for the driver): `gbs[g]` per GPU, a negative value
// throwing as a CUDA error would.
GpuMemoryProbe fake_gpus(std::vector<double> gbs) {
  return {[n = int(gbs.size())](std::string& why) {
            if (n == 0) why = "no GPU visible to CUDA";
            return n;
          },
          [gbs](int g) {
            if (gbs.at(g) < 0) throw std::runtime_error("cudaErrorIllegalAddress");
            return gbs.at(g);
          }};
}

TEST_F(Checks, GpuMemoryBandwidthAgainstTheCatalog) {
  auto ctx = node.context();  // p5.48xlarge: H100 SXM, 3350 GB/s; the floor is 0.7 of it, 2345 GB/s
  ASSERT_EQ(ctx.expect->memory_bw_gbs, 3350);
  ctx.gpu_memory = fake_gpus(std::vector<double>(8, 2900));
  auto ok = run("gpu-membw", ctx);
  EXPECT_EQ(ok.status(), "PASS") << ok.details();
  EXPECT_EQ(ok.to_json()["measured"]["gpu7_gbs"], 2900);
  EXPECT_EQ(ok.to_json()["measured"]["expected_gbs"], 3350);

  auto slow = std::vector<double>(8, 2900);
  slow[3] = 2300;
  ctx.gpu_memory = fake_gpus(slow);
  auto o = run("gpu-membw", ctx);
  EXPECT_EQ(severity(o), "ISOLATE");
  EXPECT_EQ(keys(o), std::vector<std::string>{"slow"});
  EXPECT_NE(o.details().find("GPU 3 memory bandwidth 2300 GB/s, below 2345"), std::string::npos) << o.details();
  ctx.settings.membw_min_fraction = 0.65;  // the threshold: 2177.5 GB/s passes GPU 3
  EXPECT_EQ(run("gpu-membw", ctx).status(), "PASS");
  ctx.settings.membw_min_fraction = 0.9;  // 3015 GB/s: every GPU is slow
  EXPECT_EQ(keys(run("gpu-membw", ctx)).size(), 8u);

  auto broken = std::vector<double>(8, 2900);
  broken[5] = -1;
  ctx.settings.membw_min_fraction = 0.7;
  ctx.gpu_memory = fake_gpus(broken);
  auto f = run("gpu-membw", ctx);
  EXPECT_EQ(severity(f), "RESET");
  EXPECT_EQ(keys(f), std::vector<std::string>{"failed"});
  EXPECT_NE(f.details().find("GPU 5: device-to-device copy failed: cudaErrorIllegalAddress"), std::string::npos);
}

TEST_F(Checks, GpuMemoryBandwidthSkipsWithoutGpusOrFigure) {
  auto ctx = node.context();
  ctx.gpu_memory = fake_gpus({});
  auto none = run("gpu-membw", ctx);
  EXPECT_EQ(none.status(), "SKIP");
  EXPECT_EQ(none.details(), "no GPU visible to CUDA (gpu-inventory checks the count)");
  ctx.expect.reset();  // no instance type: measured, not compared
  ctx.gpu_memory = fake_gpus({10.0});
  auto unknown = run("gpu-membw", ctx);
  EXPECT_EQ(unknown.status(), "PASS");
  EXPECT_NE(unknown.details().find("measured, not compared"), std::string::npos);
  ctx.gpu_memory = {};  // the real GPUs, through the core's device layer
  auto real = run("gpu-membw", ctx);
#if AWSDT_HAVE_CUDA
  if (cuda_device_count() > 0) {
    EXPECT_GT(real.to_json()["measured"]["gpu0_gbs"].get<double>(), 0) << real.details();
  }
#else
  EXPECT_EQ(real.status(), "SKIP");
  EXPECT_EQ(real.details(), "built without CUDA");
#endif
}

TEST_F(Checks, ClockSynchronisation) {
  EXPECT_EQ(run("clock", node.context()).status(), "PASS");  // the fake's adjtimex: synchronised, 12 ms
  node.write("/run/awsdt/adjtimex", "status 64\nmaxerror 16000000\nesterror 16000000\n");  // STA_UNSYNC
  auto o = run("clock", node.context());
  EXPECT_EQ(severity(o), "MONITOR");
  EXPECT_EQ(o.status(), "WARN");
  EXPECT_EQ(keys(o), std::vector<std::string>{"unsynchronised"});
  node.write("/run/awsdt/adjtimex", "status 8193\nmaxerror 2500000\nesterror 1000\n");  // 2.5 s error bound
  auto e = run("clock", node.context());
  EXPECT_EQ(keys(e), std::vector<std::string>{"max_error"});
  EXPECT_NE(e.details().find("maximum error is 2500 ms, above 1000 ms"), std::string::npos) << e.details();
  auto ctx = node.context();
  ctx.settings.max_clock_error_ms = 3000;
  EXPECT_EQ(run("clock", ctx).status(), "PASS");
  node.write("/run/awsdt/adjtimex", "garbage\n");
  EXPECT_EQ(run("clock", node.context()).status(), "SKIP");
  // This machine's own clock, through adjtimex(2): readable without privilege.
  EXPECT_TRUE(NodeRoot("/").clock_state().has_value());
}

TEST_F(Checks, EfaLoopbackOverShm) {
  auto ctx = node.context();
  ctx.settings.efa_provider = "shm";  // awsdt-fabric's loopback on shm's one domain, as on each EFA device
  ctx.settings.efa_min_gbps = 0.001;
  auto ok = run("efa-loopback", ctx);
#ifdef AWSDT_HEALTH_TEST_LIBFABRIC
  EXPECT_EQ(ok.status(), "PASS") << ok.details();
  const nlohmann::json doc = ok.to_json();  // kept: items() below iterates into it
  ASSERT_FALSE(doc["measured"].empty());
  for (const auto& [device, gbps] : doc["measured"].items()) EXPECT_GT(gbps.get<double>(), 0) << device;
  ctx.settings.efa_min_gbps = 1e6;  // a terabit per device: unreachable
  auto slow = run("efa-loopback", ctx);
  EXPECT_EQ(severity(slow), "MONITOR") << slow.details();
  EXPECT_EQ(slow.status(), "WARN");
  EXPECT_NE(slow.details().find("Gbit/s at 1 MiB, below 1000000 (--efa-min-gbps)"), std::string::npos)
      << slow.details();
  ctx.settings.efa_provider = "efa-nonexistent";
  auto missing = run("efa-loopback", ctx);
  EXPECT_EQ(severity(missing), "ISOLATE");
  EXPECT_EQ(keys(missing), std::vector<std::string>{"failed"});
  EXPECT_EQ(missing.details().rfind("no 'efa-nonexistent' device to loop back on (providers here: ", 0), 0u)
      << missing.details();
#else
  EXPECT_EQ(ok.status(), "SKIP");
#endif
  ctx.expect = expectation_for("g5.12xlarge");  // no EFA there
  EXPECT_EQ(run("efa-loopback", ctx).status(), "SKIP");
}

TEST_F(Checks, HangingCheckFailsAtItsTimeout) {
  node.nvml["hang_in"] = "nvmlDeviceGetPersistenceMode";
  auto ctx = node.context();
  auto r = run_isolated(check_info("gpu-inventory"), check_function("gpu-inventory"), ctx, 1.0);
  EXPECT_EQ(severity(r.outcome), "RESET");
  EXPECT_EQ(keys(r.outcome), std::vector<std::string>{"timeout"});
  EXPECT_LT(r.seconds, 5.0);
}

TEST_F(Checks, IsolatedRunMatchesInProcessRun) {
  node.nvml["gpus"][0]["retired_pages"]["dbe"] = 2;
  auto ctx = node.context();
  auto r = run_isolated(check_info("gpu-ecc"), check_function("gpu-ecc"), ctx, 30.0);
  EXPECT_EQ(r.outcome.to_json(), run("gpu-ecc", ctx).to_json());
}

TEST_F(Checks, ReportExitStatusAndDrainReason) {
  node.nvml["gpus"][0]["retired_pages"]["dbe"] = 2;
  auto ctx = node.context();
  Report report{"node1", "p5.48xlarge", "prolog", {}};
  report.runs.push_back({run("gpu-inventory", ctx), 0.1});
  EXPECT_EQ(report.exit_status(), 0);
  EXPECT_EQ(report.drain_reason(), "");
  report.runs.push_back({run("gpu-ecc", ctx), 0.1});
  EXPECT_EQ(report.exit_status(), 5);
  EXPECT_EQ(report.drain_reason().rfind("awsdt-healthcheck: gpu-ecc ISOLATE: GPU 0: 2 pages retired", 0), 0u)
      << report.drain_reason();
  auto doc = report.to_json();
  EXPECT_EQ(doc["summary"]["failed"], 1);
  EXPECT_EQ(doc["summary"]["severity"], "ISOLATE");
}

TEST(CheckData, EveryNodeCheckHasCodeAndEverySuiteAChecks) {
  for (const auto& c : check_infos()) {
    if (!c.in_suite("cluster")) EXPECT_NO_THROW(check_function(c.id)) << c.id;
    EXPECT_GT(c.timeout_s, c.expected_s) << c.id;
  }
  for (const auto& s : suite_names()) {
    int n = 0;
    for (const auto& c : check_infos()) n += c.in_suite(s);
    EXPECT_GT(n, 0) << s;
  }
}

TEST(Cluster, SlowOutlierNeedsToStandOut) {
  EXPECT_EQ(slow_outlier({10, 0.5}), 1);
  EXPECT_EQ(slow_outlier({10, 9}), -1);
  EXPECT_EQ(slow_outlier({10, 11, 3, 12}), 2);
  EXPECT_EQ(slow_outlier({10}), -1);
}

}  // namespace
}  // namespace awsdt::health
