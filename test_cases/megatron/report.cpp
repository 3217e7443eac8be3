// The table, JSON and CSV of awsdt-megatron gemm (see report.hpp).
#include "report.hpp"

#include <fmt/format.h>

namespace awsdt::megatron {
namespace {

double peak_percent(const Row& r, double peak) { return peak > 0 ? 100.0 * r.gemm_tflops() * 1e12 / peak : 0; }

std::string wrong_text(const Row& r) { return r.wrong < 0 ? "N/A" : std::to_string(r.wrong); }

}  // namespace

std::string table_header() {
  return "#                                               GEMM alone  split GEMMs  comm alone     serial     method"
         "    exposed                     GEMM          comm\n"
         "#  pattern  method        M      N      K chunks        (us)         (us)       (us)       (us)       (us)"
         "       (us)  eff%  speedup  TFLOP/s  %peak  busbw GB/s  #wrong\n";
}

std::string table_line(const Row& r, double peak) {
  return fmt::format(
      "{:>10} {:>9} {:>7} {:>6} {:>6} {:>6} {:>11.1f} {:>12.1f} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f} "
      "{:>5.1f} {:>8.3f} {:>8.3f} {:>6.1f} {:>11.2f} {:>7}",
      r.pattern, r.method, r.dims.m, r.dims.n, r.dims.k, r.chunks, r.gemm_us, r.split_us, r.comm_us, r.serial_us,
      r.time_us, r.exposed_us(), 100.0 * r.efficiency(), r.speedup(), r.gemm_tflops(), peak_percent(r, peak), r.busbw(),
      wrong_text(r));
}

nlohmann::json rows_json(const std::vector<Row>& rows, double peak) {
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows)
    out.push_back({{"pattern", r.pattern},
                   {"method", r.method},
                   {"m", r.dims.m},
                   {"n", r.dims.n},
                   {"k", r.dims.k},
                   {"chunks", r.chunks},
                   {"t_gemm_us", r.gemm_us},
                   {"t_gemm_split_us", r.split_us},
                   {"t_comm_us", r.comm_us},
                   {"t_serial_us", r.serial_us},
                   {"t_us", r.time_us},
                   {"exposed_us", r.exposed_us()},
                   {"overlap_efficiency", r.efficiency()},
                   {"speedup", r.speedup()},
                   {"gemm_tflops", r.gemm_tflops()},
                   {"gemm_peak_fraction", peak_percent(r, peak) / 100.0},
                   {"busbw_gbps", r.busbw()},
                   {"wrong", r.wrong < 0 ? nlohmann::json() : nlohmann::json(r.wrong)}});
  return out;
}

Table rows_table(const std::vector<Row>& rows, double peak) {
  Table t;
  t.columns = {"pattern",         "method",        "m",           "n",    "k",          "chunks",     "t_gemm_us",
               "t_gemm_split_us", "t_comm_us",     "t_serial_us", "t_us", "exposed_us", "efficiency", "speedup",
               "gemm_tflops",     "gemm_peak_pct", "busbw_gbps",  "wrong"};
  for (const Row& r : rows)
    t.rows.push_back({r.pattern, r.method, std::to_string(r.dims.m), std::to_string(r.dims.n), std::to_string(r.dims.k),
                      std::to_string(r.chunks), fmt::format("{:.3f}", r.gemm_us), fmt::format("{:.3f}", r.split_us),
                      fmt::format("{:.3f}", r.comm_us), fmt::format("{:.3f}", r.serial_us),
                      fmt::format("{:.3f}", r.time_us), fmt::format("{:.3f}", r.exposed_us()),
                      fmt::format("{:.4f}", r.efficiency()), fmt::format("{:.4f}", r.speedup()),
                      fmt::format("{:.4f}", r.gemm_tflops()), fmt::format("{:.2f}", peak_percent(r, peak)),
                      fmt::format("{:.3f}", r.busbw()), wrong_text(r)});
  return t;
}

std::vector<MetricValue> row_metrics(const Row& r, int step) {
  const std::vector<std::pair<std::string, std::string>> labels{
      {"pattern", r.pattern}, {"method", r.method}, {"shape", fmt::format("{}x{}x{}", r.dims.m, r.dims.n, r.dims.k)}};
  return {
      {"awsdt_step", "Rows measured so far (one pattern, method and shape each).", double(step)},
      {"awsdt_tp_gemm_comm_seconds", "Time of the last row's GEMM with its collective (T_overlap).", r.time_us * 1e-6,
       labels},
      {"awsdt_tp_exposed_comm_seconds", "Communication of the last row not hidden behind its GEMM.",
       r.exposed_us() * 1e-6, labels},
      {"awsdt_tp_overlap_speedup", "T_serial / T_overlap of the last row.", r.speedup(), labels},
      {"awsdt_tp_gemm_flops_per_second", "GEMM throughput per rank of the last row.", r.gemm_tflops() * 1e12, labels}};
}

}  // namespace awsdt::megatron
