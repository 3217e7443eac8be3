// FamilySet (see collector.hpp).
#include "collector.hpp"

namespace awsdt::exporter {

void FamilySet::add(const std::string& name, const std::string& help, prometheus::MetricType type,
                    std::map<std::string, std::string> labels, double value) {
  auto [it, added] = index_.emplace(name, families_.size());
  if (added) families_.push_back({name, help, type, {}});
  prometheus::MetricFamily& family = families_[it->second];
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({k, std::move(v)});
  switch (family.type) {
    case prometheus::MetricType::Counter: m.counter.value = value; break;
    case prometheus::MetricType::Gauge: m.gauge.value = value; break;
    default: m.untyped.value = value; break;
  }
  family.metric.push_back(std::move(m));
}

void FamilySet::append(const prometheus::MetricFamily& family) {
  for (const auto& m : family.metric) {
    std::map<std::string, std::string> labels;
    for (const auto& l : m.label) labels[l.name] = l.value;
    const double value = family.type == prometheus::MetricType::Counter ? m.counter.value
                         : family.type == prometheus::MetricType::Gauge ? m.gauge.value
                                                                        : m.untyped.value;
    add(family.name, family.help, family.type, std::move(labels), value);
  }
}

}  // namespace awsdt::exporter
