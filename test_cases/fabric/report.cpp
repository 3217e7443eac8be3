// Table, JSON and CSV output (see report.hpp).
#include "report.hpp"

#include <fmt/format.h>

namespace awsdt::fabric {

Row make_row(std::string test, std::string message, std::string device, std::uint64_t bytes, int iterations,
             const std::vector<double>& latency_us, std::int64_t wrong) {
  Row r{std::move(test), std::move(message), std::move(device), bytes, iterations, summarize(latency_us)};
  // Bandwidth from the mean time per message, as fi_pingpong and the OSU benchmarks compute it.
  if (r.latency_us.mean > 0) {
    r.gbytes_per_s = double(bytes) / r.latency_us.mean / 1e3;
    r.messages_per_s = 1e6 / r.latency_us.mean;
  }
  r.wrong = wrong;
  return r;
}

void TableReport::line(const std::string& text) {
  if (!enabled_) return;
  fmt::print(out_, "# {}\n", text);
  std::fflush(out_);
}

void TableReport::begin_test(const std::string& test, const std::string& message, const std::string& device) {
  if (!enabled_) return;
  fmt::print(out_, "#\n# {} ({} messages) on {}\n", test, message, device);
  fmt::print(out_, "# {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}{}\n", "size", "iters", "min", "avg",
             "p50", "p99", "max", "GB/s", "Gbit/s", "msg/s", check_ ? fmt::format(" {:>7}", "#wrong") : "");
  fmt::print(out_, "# {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}{}\n", "(B)", "", "(us)", "(us)",
             "(us)", "(us)", "(us)", "", "", "", check_ ? fmt::format(" {:>7}", "") : "");
  std::fflush(out_);
}

void TableReport::row(const Row& r) {
  if (!enabled_) return;
  const auto& l = r.latency_us;
  fmt::print(out_, "  {:>10} {:>8} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.3f} {:>9.3f} {:>12.0f}{}\n",
             r.bytes, r.iterations, l.min, l.mean, l.p50, l.p99, l.max, r.gbytes_per_s, r.gbits_per_s(),
             r.messages_per_s, check_ ? fmt::format(" {:>7}", r.wrong) : "");
  std::fflush(out_);
}

nlohmann::json rows_json(const std::vector<Row>& rows) {
  auto out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"test", r.test},
                   {"message", r.message},
                   {"device", r.device},
                   {"size", r.bytes},
                   {"iterations", r.iterations},
                   {"latency_us", r.latency_us},
                   {"bandwidth_gbytes_per_s", r.gbytes_per_s},
                   {"bandwidth_gbits_per_s", r.gbits_per_s()},
                   {"messages_per_s", r.messages_per_s},
                   {"wrong_bytes", r.wrong < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.wrong)}});
  return out;
}

Table rows_table(const std::vector<Row>& rows) {
  Table t{{"test", "message", "device", "size", "iterations", "lat_min_us", "lat_avg_us", "lat_p50_us", "lat_p99_us",
           "lat_max_us", "gbytes_per_s", "gbits_per_s", "messages_per_s", "wrong_bytes"},
          {}};
  for (const auto& r : rows) {
    const auto& l = r.latency_us;
    t.rows.push_back({r.test, r.message, r.device, std::to_string(r.bytes), std::to_string(r.iterations),
                      fmt::format("{:.3f}", l.min), fmt::format("{:.3f}", l.mean), fmt::format("{:.3f}", l.p50),
                      fmt::format("{:.3f}", l.p99), fmt::format("{:.3f}", l.max), fmt::format("{:.4f}", r.gbytes_per_s),
                      fmt::format("{:.4f}", r.gbits_per_s()), fmt::format("{:.0f}", r.messages_per_s),
                      r.wrong < 0 ? "" : std::to_string(r.wrong)});
  }
  return t;
}

}  // namespace awsdt::fabric
