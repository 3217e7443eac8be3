// nccl-tests-compatible output (see report.hpp).
#include "report.hpp"

#include <cmath>

#include <map>

#include <fmt/format.h>

#include "awsdt/config.hpp"

namespace awsdt::collectives {

std::string format_number(double value, int width) {
  int power = 0;
  for (double v = 1; value >= v && power < 40; v *= 10) ++power;  // digits before the decimal point
  if (power < width - 2) return fmt::format("{:>{}.2f}", value, width);
  if (power < width - 1) return fmt::format("{:>{}.1f}", value, width);
  if (power < width + 1) return fmt::format("{:>{}.0f}", value, width);
  return fmt::format("{:>{}.1e}", value, width);
}

TableReport::TableReport(const Options& options, std::FILE* out, bool enabled)
    : options_(options), out_(out), enabled_(enabled) {}

void TableReport::preamble(const CommWorld& world, const std::vector<std::string>& device_lines) {
  if (!enabled_) return;
  const auto& o = options_;
  bool factor = o.step_factor > 1;
  fmt::print(out_, "# awsdt-collectives {} backend {} bootstrap {}\n", AWSDT_VERSION, world.comms[0]->backend(),
             world.bootstrap->name());
  fmt::print(out_,
             "# nThread 1 nGpus {} minBytes {} maxBytes {} step: {}({}) warmup iters: {} iters: {} agg iters: {} "
             "validation: {} graph: {}\n",
             o.ngpus, o.min_bytes, o.max_bytes, factor ? o.step_factor : o.step_bytes, factor ? "factor" : "bytes",
             o.warmup, o.iters, o.agg_iters, o.check, o.graph_launches);
  if (o.report_cputime)
    fmt::print(out_, "# Report CPU time: cputime is the host time of issuing each operation, not its duration\n");
  if (o.blocking) fmt::print(out_, "# Blocking Enabled: wait for completion after each collective\n");
  if (o.per_iteration)
    fmt::print(out_, "# Per-Iteration Report: stream event timing; i_* uses max over process rows\n");
  fmt::print(out_, "#\n# Using devices\n");
  for (const auto& line : device_lines) fmt::print(out_, "{}\n", line);
  std::fflush(out_);
}

void TableReport::begin_collective(const Collective& c) {
  current_ = &c;
  header();
}

void TableReport::header() {
  if (!enabled_) return;
  fmt::print(out_, "#\n# Collective test starting: {}\n#\n", current_->name);
  if (options_.per_iteration) {
    fmt::print(out_, "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}  {:^62}  {:^62}\n", "", "", "", "", "",
               "out-of-place (+ per-iteration)", "in-place (+ per-iteration)");
    auto cols = [](const char* a, const char* b, const char* c, const char* d, const char* e, const char* f,
                   const char* g, const char* h) {
      return fmt::format("  {:>7}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}  {:>7}  {:>7}", a, b, c, d, e, f, g, h);
    };
    fmt::print(out_, "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}{}{}\n", "size", "count", "type", "redop", "root",
               cols("time", "algbw", "busbw", "#wrong", "i_min", "i_max", "i_p99", "i_cv%"),
               cols("time", "algbw", "busbw", "#wrong", "i_min", "i_max", "i_p99", "i_cv%"));
    fmt::print(out_, "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}{}{}\n", "(B)", "(elements)", "", "", "",
               cols("(us)", "(GB/s)", "(GB/s)", "", "(us)", "(us)", "(us)", "(%)"),
               cols("(us)", "(GB/s)", "(GB/s)", "", "(us)", "(us)", "(us)", "(%)"));
  } else {
    const char* time = options_.report_cputime ? "cputime" : "time";  // nccl-tests' label for -C 1
    fmt::print(
        out_, "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}           out-of-place                       in-place          \n",
        "", "", "", "", "");
    fmt::print(out_, "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}  {:>7}  {:>6}  {:>6}  {:>6}  {:>7}  {:>6}  {:>6}  {:>6}\n",
               "size", "count", "type", "redop", "root", time, "algbw", "busbw", "#wrong", time, "algbw", "busbw",
               "#wrong");
    fmt::print(out_, "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}  {:>7}  {:>6}  {:>6}  {:>6}  {:>7}  {:>6}  {:>6}  {:>6}\n",
               "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "");
  }
  std::fflush(out_);
}

std::string TableReport::half(const std::optional<Measurement>& m) const {
  std::string s;
  if (!m) {
    s = fmt::format("  {:>7}  {:>6}  {:>6}  {:>6}", "N/A", "N/A", "N/A", "N/A");
    if (options_.per_iteration) s += fmt::format("  {:>7}  {:>7}  {:>7}  {:>7}", "N/A", "N/A", "N/A", "N/A");
    return s;
  }
  std::string wrong = m->wrong < 0 ? fmt::format("{:>6}", "N/A") : fmt::format("{:>6g}", double(m->wrong));
  s = fmt::format("  {}  {}  {}  {}", format_number(m->time_us, 7), format_number(m->algbw, 6),
                  format_number(m->busbw, 6), wrong);
  if (options_.per_iteration && m->per_iteration) {
    const auto& st = *m->per_iteration;
    double cv = st.mean > 0 ? st.stdev / st.mean * 100.0 : 0.0;
    s += fmt::format("  {}  {}  {}  {}", format_number(st.min, 7), format_number(st.max, 7), format_number(st.p99, 7),
                     format_number(cv, 7));
  }
  return s;
}

void TableReport::row(const Row& r) {
  if (!enabled_) return;
  fmt::print(out_, "{:>12}  {:>12}  {:>8}  {:>6}  {:>6}{}{}\n", r.bytes, r.count, dtype_name(r.type), r.redop, r.root,
             half(r.out_of_place), half(r.in_place));
  std::fflush(out_);
}

double average_busbw(const std::vector<Row>& rows) {
  double sum = 0;
  int n = 0;
  for (const auto& r : rows) {
    sum += r.out_of_place.busbw, ++n;
    if (r.in_place) sum += r.in_place->busbw, ++n;
  }
  return n ? sum / n : 0.0;
}

std::int64_t total_wrong(const std::vector<Row>& rows) {
  std::int64_t w = 0;
  for (const auto& r : rows) {
    w += std::max<std::int64_t>(0, r.out_of_place.wrong);
    if (r.in_place) w += std::max<std::int64_t>(0, r.in_place->wrong);
  }
  return w;
}

namespace {

// A size's ranks disagree enough to name: by more than `relative` and by more than `floor_us` microseconds, so
// that the noise of a few-microsecond operation on a busy host is not reported as a straggler.
bool straggles(const RankSpread& s, double relative, double floor_us) {
  return s.values.size() >= 2 && s.imbalance() > relative && s.max - s.min > floor_us;
}

std::string straggler_note(const Row& r, const Measurement& m) {
  const auto& s = m.spread;
  return fmt::format("{} {} {} {}: slowest rank {} on {} {:.2f} us, fastest rank {} on {} {:.2f} us (+{:.1f}%)",
                     r.collective->name, r.bytes, dtype_name(r.type),
                     &m == &r.out_of_place ? "out-of-place" : "in-place", s.slowest_rank, s.slowest_host, s.max,
                     s.fastest_rank, s.fastest_host, s.min, s.imbalance() * 100);
}

}  // namespace

std::vector<std::string> straggler_notes(const std::vector<Row>& rows, double relative, double floor_us) {
  std::vector<std::string> notes;
  for (const auto& r : rows)
    for (const auto* m : {&r.out_of_place, r.in_place ? &*r.in_place : nullptr})
      if (m && straggles(m->spread, relative, floor_us)) notes.push_back(straggler_note(r, *m));
  return notes;
}

std::vector<std::string> straggler_summary(const std::vector<Row>& rows, double relative, double floor_us) {
  // Per collective, in the order they ran: how many measurements straggled, and the worst one (largest gap).
  std::vector<std::string> names;
  std::map<std::string, std::pair<int, const Measurement*>> by_name;
  std::map<const Measurement*, const Row*> row_of;
  for (const auto& r : rows)
    for (const auto* m : {&r.out_of_place, r.in_place ? &*r.in_place : nullptr}) {
      if (!m || !straggles(m->spread, relative, floor_us)) continue;
      auto& [count, worst] = by_name[std::string(r.collective->name)];
      if (count++ == 0) names.emplace_back(r.collective->name);
      if (!worst || m->spread.max - m->spread.min > worst->spread.max - worst->spread.min) worst = m;
      row_of[m] = &r;
    }
  std::vector<std::string> lines;
  for (const auto& name : names) {
    const auto& [count, worst] = by_name[name];
    lines.push_back(
        fmt::format("{} measurement(s) with ranks apart by more than {:g}% and {:g} us (-v lists "
                    "them); the widest: {}",
                    count, relative * 100, floor_us, straggler_note(*row_of[worst], *worst)));
  }
  return lines;
}

double TableReport::footer(const std::vector<Row>& rows) {
  double avg = average_busbw(rows);
  if (!enabled_) return avg;
  auto wrong = total_wrong(rows);
  const auto notes = options_.common.verbose ? straggler_notes(rows, kStragglerRelative, kStragglerFloorUs)
                                             : straggler_summary(rows, kStragglerRelative, kStragglerFloorUs);
  for (const auto& note : notes) fmt::print(out_, "# Straggler: {}\n", note);
  fmt::print(out_, "# {:<20} : {} {}\n", "Out of bounds values", wrong, wrong ? "FAILED" : "OK");
  std::string verdict = options_.min_busbw < 0 ? "" : (avg < options_.min_busbw ? "FAILED" : "OK");
  fmt::print(out_, "# {:<20} : {:g} {}\n", "Avg bus bandwidth", avg, verdict);
  fmt::print(out_, "#\n");
  std::fflush(out_);
  return avg;
}

namespace {
nlohmann::json half_json(const std::optional<Measurement>& m) {
  if (!m) return nullptr;
  nlohmann::json j = {{"time", m->time_us},
                      {"alg_bw", m->algbw},
                      {"bus_bw", m->busbw},
                      {"nwrong", m->wrong < 0 ? nlohmann::json(nullptr) : nlohmann::json(m->wrong)},
                      {"rank_times_us", m->spread.values},
                      {"slowest_rank", m->spread.slowest_rank},
                      {"slowest_host", m->spread.slowest_host}};
  if (m->per_iteration) {
    j["per_iteration"] = *m->per_iteration;
    j["times_us"] = m->iteration_times_us;
  }
  return j;
}
}  // namespace

nlohmann::json rows_json(const std::vector<Row>& rows, int iters) {
  auto out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"size", r.bytes},
                   {"count", r.count},
                   {"type", dtype_name(r.type)},
                   {"redop", r.redop},
                   {"root", std::to_string(r.root)},
                   {"out_of_place", half_json(r.out_of_place)},
                   {"in_place", half_json(r.in_place)},
                   {"actual_iterations", iters},
                   {"experiment_name", r.collective->name}});
  return out;
}

Table rows_table(const std::vector<Row>& rows) {
  Table t{{"collective", "size", "count", "type", "redop", "root", "oop_time_us", "oop_algbw", "oop_busbw", "oop_wrong",
           "ip_time_us", "ip_algbw", "ip_busbw", "ip_wrong"},
          {}};
  auto cells = [](const std::optional<Measurement>& m, std::vector<std::string>& row) {
    if (!m) {
      row.insert(row.end(), {"", "", "", ""});
      return;
    }
    row.push_back(fmt::format("{:.3f}", m->time_us));
    row.push_back(fmt::format("{:.4f}", m->algbw));
    row.push_back(fmt::format("{:.4f}", m->busbw));
    row.push_back(m->wrong < 0 ? "" : std::to_string(m->wrong));
  };
  for (const auto& r : rows) {
    std::vector<std::string> row{std::string(r.collective->name),
                                 std::to_string(r.bytes),
                                 std::to_string(r.count),
                                 std::string(dtype_name(r.type)),
                                 r.redop,
                                 std::to_string(r.root)};
    cells(r.out_of_place, row);
    cells(r.in_place, row);
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace awsdt::collectives
