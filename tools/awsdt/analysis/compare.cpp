// Comparing and gating runs (see compare.hpp).
#include "analysis/compare.hpp"

#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt::launcher {
namespace {

std::string cell(double v) { return fmt::format("{:.6g}", v); }

std::string ratio(double v, double base) { return base != 0 ? fmt::format("{:.3f}", v / base) : "-"; }

}  // namespace

void require_comparable(const RunResult& a, const RunResult& b) {
  for (const auto& [field, value] : a.identity) {
    const auto it = b.identity.find(field);
    const std::string other = it == b.identity.end() ? "(none)" : it->second;
    if (other != value)
      throw UsageError(fmt::format("{} and {} differ in {}: {} vs {}; pass --force to compare them anyway", a.source,
                                   b.source, field, value, other));
  }
}

Table compare_table(const std::vector<RunResult>& runs) {
  Table t;
  t.columns = {"series", "x", "figure"};
  for (std::size_t i = 0; i < runs.size(); ++i) t.columns.push_back(fmt::format("run {}", i + 1));
  for (std::size_t i = 1; i < runs.size(); ++i) t.columns.push_back(fmt::format("run {}/run 1", i + 1));
  // Points of the first run that every other run has too, in the first run's order.
  using Key = std::tuple<std::string, double, std::string>;
  std::vector<std::map<Key, double>> index(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (const Point& p : runs[i].points) index[i][{p.series, p.x, p.name}] = p.value;
  for (const Point& p : runs.front().points) {
    const Key key{p.series, p.x, p.name};
    std::vector<std::string> row{p.series, cell(p.x), p.name};
    bool everywhere = true;
    for (const auto& run : index) everywhere = everywhere && run.count(key);
    if (!everywhere) continue;
    for (const auto& run : index) row.push_back(cell(run.at(key)));
    for (std::size_t i = 1; i < runs.size(); ++i) row.push_back(ratio(index[i].at(key), p.value));
    t.rows.push_back(std::move(row));
  }
  for (const Metric& m : runs.front().metrics) {
    std::vector<std::string> row{"summary", "-", m.name};
    std::vector<double> values;
    for (const RunResult& r : runs)
      for (const Metric& o : r.metrics)
        if (o.name == m.name) values.push_back(o.value);
    if (values.size() != runs.size()) continue;
    for (double v : values) row.push_back(cell(v));
    for (std::size_t i = 1; i < values.size(); ++i) row.push_back(ratio(values[i], values[0]));
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::vector<Regression> gate(const RunResult& baseline, const RunResult& candidate, double max_regression,
                             const std::map<std::string, double>& per_metric) {
  std::vector<Regression> out;
  for (const Metric& b : baseline.metrics) {
    for (const Metric& c : candidate.metrics) {
      if (c.name != b.name || b.value == 0) continue;
      const double worse = b.higher_is_better ? (b.value - c.value) / b.value : (c.value - b.value) / b.value;
      const auto it = per_metric.find(b.name);
      const double threshold = it == per_metric.end() ? max_regression : it->second;
      if (worse > threshold) out.push_back({b.name, b.value, c.value, worse, threshold});
    }
  }
  return out;
}

double parse_fraction(const std::string& text, const std::string& what) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    const bool percent = used < text.size() && text.substr(used) == "%";
    if (used != text.size() && !percent) throw std::invalid_argument(text);
    if (v < 0) throw std::invalid_argument(text);
    return percent ? v / 100 : v;
  } catch (const std::exception&) {
    throw UsageError(fmt::format("{} '{}' is not a fraction (0.05) or a percentage (5%)", what, text));
  }
}

}  // namespace awsdt::launcher
