// Summary statistics (see summary.hpp).
#include "bench/summary.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

namespace awsdt {
namespace {
double percentile(const std::vector<double>& sorted, double q) {
  double pos = q * double(sorted.size() - 1);
  auto lo = std::size_t(std::floor(pos));
  auto hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - double(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}
}  // namespace

Summary summarize(std::span<const double> samples) {
  Summary s;
  if (samples.empty()) return s;
  std::vector<double> v(samples.begin(), samples.end());
  std::sort(v.begin(), v.end());
  s.count = v.size();
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.stdev = v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0.0;
  s.p50 = percentile(v, 0.50);
  s.p95 = percentile(v, 0.95);
  s.p99 = percentile(v, 0.99);
  return s;
}

void to_json(nlohmann::json& j, const Summary& s) {
  j = {{"count", s.count}, {"min", s.min}, {"max", s.max}, {"mean", s.mean},
       {"p50", s.p50},     {"p95", s.p95}, {"p99", s.p99}, {"stdev", s.stdev}};
}

void from_json(const nlohmann::json& j, Summary& s) {
  j.at("count").get_to(s.count);
  j.at("min").get_to(s.min);
  j.at("max").get_to(s.max);
  j.at("mean").get_to(s.mean);
  j.at("p50").get_to(s.p50);
  j.at("p95").get_to(s.p95);
  j.at("p99").get_to(s.p99);
  j.at("stdev").get_to(s.stdev);
}

}  // namespace awsdt
