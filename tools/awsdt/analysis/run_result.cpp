// Reading results (see run_result.hpp).
#include "analysis/run_result.hpp"

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace {

double number(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

// Collectives rows in nccl-tests' -J layout (ours writes the same): out-of-place bandwidths and time per size.
void add_collective_rows(RunResult& r, const nlohmann::json& rows) {
  double sum = 0;
  int n = 0;
  for (const auto& row : rows) {
    const std::string series = fmt::format("{} {} {}", row.value("experiment_name", std::string("collective")),
                                           row.value("type", std::string("?")), row.value("redop", std::string("?")));
    const auto& oop = row.contains("out_of_place") ? row["out_of_place"] : row;
    const double size = number(row, "size");
    r.points.push_back({series, size, "busbw", number(oop, "bus_bw")});
    r.points.push_back({series, size, "algbw", number(oop, "alg_bw")});
    r.points.push_back({series, size, "time_us", number(oop, "time")});
    sum += number(oop, "bus_bw");
    ++n;
    r.identity["collectives"] += (r.identity["collectives"].find(series) == std::string::npos ? series + "; " : "");
  }
  r.metrics.push_back({"average busbw (GB/s)", n ? sum / n : 0.0, true});
}

void add_fsdp(RunResult& r, const nlohmann::json& doc) {
  for (const char* key : {"model", "dim", "n_layers", "n_heads", "seq_len", "global_batch_size", "sharding"})
    if (doc["config"].contains(key)) r.identity[key] = doc["config"][key].dump();
  for (const auto& row : doc.value("rows", nlohmann::json::array())) {
    const double step = number(row, "step");
    for (const char* key : {"loss", "tokens_per_s", "mfu", "step_ms", "exposed_comm_ms"})
      if (row.contains(key) && row[key].is_number()) r.points.push_back({"fsdp", step, key, row[key].get<double>()});
  }
  const auto& s = doc["summary"];
  r.metrics.push_back({"median tokens/s", number(s, "median_tokens_per_s"), true});
  if (s.contains("median_mfu") && s["median_mfu"].is_number())
    r.metrics.push_back({"median MFU (%)", number(s, "median_mfu"), true});
  r.metrics.push_back({"median exposed comm (ms)", number(s, "median_exposed_comm_ms"), false});
  r.metrics.push_back({"max peak RSS (MiB)", number(s, "max_peak_rss_bytes") / (1 << 20), false});
  if (s.contains("max_gpu_memory_used_bytes"))
    r.metrics.push_back({"GPU memory used (GiB)", number(s, "max_gpu_memory_used_bytes") / (1 << 30), false});
}

void add_megatron(RunResult& r, const nlohmann::json& doc) {
  for (const char* key : {"tp", "dtype", "model", "shape"})
    if (doc["config"].contains(key)) r.identity[key] = doc["config"][key].dump();
  for (const auto& row : doc.value("rows", nlohmann::json::array())) {
    const std::string series = row.value("pattern", std::string("?")) + " " + row.value("method", std::string("?"));
    const double m = number(row, "m");
    for (const char* key : {"t_us", "overlap_efficiency", "speedup", "gemm_tflops"})
      r.points.push_back({series, m, key, number(row, key)});
    r.metrics.push_back(
        {fmt::format("{} {}x{}x{} time (us)", series, row.value("m", 0), row.value("n", 0), row.value("k", 0)),
         number(row, "t_us"), false});
  }
}

// The collective a log's file name names (nccl-tests' binaries: all_reduce_perf, alltoall_perf, sendrecv_perf).
std::string collective_of_file(const std::string& source) {
  const std::string base = std::filesystem::path(source).filename().string();
  const std::pair<const char*, const char*> names[] = {
      {"all_reduce", "all_reduce"}, {"all_gather", "all_gather"}, {"reduce_scatter", "reduce_scatter"},
      {"alltoall", "all_to_all"},   {"all_to_all", "all_to_all"}, {"broadcast", "broadcast"},
      {"sendrecv", "send_recv"},    {"send_recv", "send_recv"},   {"reduce", "reduce"}};
  for (const auto& [in_name, collective] : names)
    if (base.find(in_name) != std::string::npos) return collective;
  return "nccl-tests";
}

// awsdt-fabric: latency and bandwidth per test, message kind and device, by size; the headline figures are each
// series' smallest-size median latency and largest-size bandwidth.
void add_fabric(RunResult& r, const nlohmann::json& doc) {
  r.identity["provider"] = doc["config"].value("provider", std::string());
  std::map<std::string, std::pair<Point, Point>> ends;  // series -> (smallest latency, largest bandwidth)
  for (const auto& row : doc.value("rows", nlohmann::json::array())) {
    const std::string series =
        row.value("test", std::string("?")) + " " + row.value("message", std::string("?")) +
        (row.value("device", std::string()).empty() ? "" : " " + row.value("device", std::string()));
    const double size = number(row, "size");
    const auto& lat = row["latency_us"];
    const Point latency{series, size, "latency_p50_us",
                        lat.is_object() ? number(lat, "p50") : number(row, "latency_us")};
    const Point bandwidth{series, size, "bandwidth_GBps", number(row, "bandwidth_gbytes_per_s")};
    r.points.push_back(latency);
    r.points.push_back(bandwidth);
    auto [it, fresh] = ends.try_emplace(series, latency, bandwidth);
    if (!fresh && size < it->second.first.x) it->second.first = latency;
    if (!fresh && size > it->second.second.x) it->second.second = bandwidth;
  }
  for (const auto& [series, e] : ends) {
    r.metrics.push_back({fmt::format("{} latency at {:.0f} B (us)", series, e.first.x), e.first.value, false});
    r.metrics.push_back({fmt::format("{} bandwidth at {:.0f} B (GB/s)", series, e.second.x), e.second.value, true});
  }
}

}  // namespace

RunResult interpret_document(const nlohmann::json& doc, const std::string& source) {
  RunResult r;
  r.source = source;
  // nccl-tests' own -J has no "benchmark"; awsdt-collectives writes nccl-tests' fields too.
  r.benchmark = doc.value("benchmark", doc.contains("results") ? std::string("collectives") : std::string());
  if (r.benchmark.empty())
    throw UsageError(fmt::format("'{}' is not an awsdt result document or nccl-tests JSON", source));
  r.started_at = doc.value("started_at", doc.value("start_time", std::string()));
  r.world_size = doc.value("world_size", 0);
  r.identity["benchmark"] = r.benchmark;
  r.identity["ranks"] = std::to_string(r.world_size);
  r.config = doc.value("config", nlohmann::json::object());
  r.summary = doc.value("summary", nlohmann::json::object());
  if (doc.contains("versions") && doc["versions"].is_object())
    for (const auto& [name, v] : doc["versions"].items())
      r.versions[name] = v.is_object() ? v.value("runtime", v.value("compiled", std::string("-"))) : v.dump();
  if (r.benchmark == "collectives")
    add_collective_rows(r, doc.contains("rows") ? doc["rows"] : doc["results"]);
  else if (r.benchmark == "fsdp")
    add_fsdp(r, doc);
  else if (r.benchmark == "megatron")
    add_megatron(r, doc);
  else if (r.benchmark == "fabric")
    add_fabric(r, doc);
  return r;
}

RunResult parse_nccl_tests_table(const std::string& text, const std::string& source) {
  static const std::regex row(
      R"(^\s*(\d+)\s+(\d+)\s+(\w+)\s+(\w+)\s+(-?\d+)\s+([\d.e+]+)\s+([\d.e+]+)\s+([\d.e+]+)\s+(\S+)\s+.*$)");
  static const std::regex start(R"(^# Collective test starting: (\w+))");
  static const std::regex rank(R"(^#\s+Rank\s+\d+ )");
  int ranks = 0;
  nlohmann::json rows = nlohmann::json::array();
  std::string name = collective_of_file(source);
  std::istringstream in(text);
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, m, start)) name = m[1];
    if (std::regex_search(line, rank)) ++ranks;
    if (!std::regex_match(line, m, row)) continue;
    rows.push_back(
        {{"experiment_name", name},
         {"size", std::stod(m[1])},
         {"type", m[3]},
         {"redop", m[4]},
         {"out_of_place", {{"time", std::stod(m[6])}, {"alg_bw", std::stod(m[7])}, {"bus_bw", std::stod(m[8])}}}});
  }
  if (rows.empty()) throw UsageError(fmt::format("'{}' holds no nccl-tests table rows", source));
  return interpret_document({{"benchmark", "collectives"}, {"world_size", ranks}, {"rows", rows}}, source);
}

RunResult read_result(const std::string& file) {
  const std::string text = read_file(file);
  try {
    return interpret_document(nlohmann::json::parse(text), file);
  } catch (const nlohmann::json::exception&) {
    return parse_nccl_tests_table(text, file);  // not JSON: a log with an nccl-tests table
  }
}

}  // namespace awsdt::launcher
