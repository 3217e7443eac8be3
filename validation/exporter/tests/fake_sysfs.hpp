// Test support: fake sysfs trees for the efa collector, and the 35 counters an EFA port has (listed from the
// seed's node_exporter collector, not from the exporter, which has no list: it serves every file it finds).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace awsdt::exporter::testing {

inline const std::vector<std::string> kEfaCounters = {"alloc_pd_err",
                                                      "alloc_ucontext_err",
                                                      "cmds_err",
                                                      "completed_cmds",
                                                      "create_ah_err",
                                                      "create_cq_err",
                                                      "create_qp_err",
                                                      "impaired_remote_conn_events",
                                                      "keep_alive_rcvd",
                                                      "lifespan",
                                                      "mmap_err",
                                                      "no_completion_cmds",
                                                      "rdma_read_bytes",
                                                      "rdma_read_resp_bytes",
                                                      "rdma_read_wr_err",
                                                      "rdma_read_wrs",
                                                      "rdma_write_bytes",
                                                      "rdma_write_recv_bytes",
                                                      "rdma_write_wr_err",
                                                      "rdma_write_wrs",
                                                      "recv_bytes",
                                                      "recv_wrs",
                                                      "reg_mr_err",
                                                      "retrans_bytes",
                                                      "retrans_pkts",
                                                      "retrans_timeout_events",
                                                      "rx_bytes",
                                                      "rx_drops",
                                                      "rx_pkts",
                                                      "send_bytes",
                                                      "send_wrs",
                                                      "submitted_cmds",
                                                      "tx_bytes",
                                                      "tx_pkts",
                                                      "unresponsive_remote_events"};

/// <sysfs>/class/infiniband/<device>/ports/<port>/hw_counters/<counter>, written (created as needed).
inline void write_counter(const std::filesystem::path& sysfs, const std::string& device, int port,
                          const std::string& counter, const std::string& text) {
  const auto dir = sysfs / "class" / "infiniband" / device / "ports" / std::to_string(port) / "hw_counters";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / counter) << text;
}

/// A distinct value for every (device, port, counter): any mix-up of labels or files shows.
inline unsigned long long counter_value(int device, int port, std::size_t counter) {
  return 1000000ULL * (device + 1) + 10000ULL * port + counter;
}

/// `devices` devices efa_0..., `ports` ports each, all 35 counters with counter_value, port state and rate.
inline void make_efa_tree(const std::filesystem::path& sysfs, int devices, int ports) {
  for (int d = 0; d < devices; ++d)
    for (int p = 1; p <= ports; ++p) {
      const std::string dev = "efa_" + std::to_string(d);
      for (std::size_t c = 0; c < kEfaCounters.size(); ++c)
        write_counter(sysfs, dev, p, kEfaCounters[c], std::to_string(counter_value(d, p, c)) + "\n");
      const auto port_dir = sysfs / "class" / "infiniband" / dev / "ports" / std::to_string(p);
      std::ofstream(port_dir / "state") << "4: ACTIVE\n";
      std::ofstream(port_dir / "phys_state") << "5: LinkUp\n";
      std::ofstream(port_dir / "rate") << "100 Gb/sec (4X EDR)\n";
    }
}

}  // namespace awsdt::exporter::testing
