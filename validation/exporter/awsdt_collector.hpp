// The awsdt collector: the running benchmarks' own figures (step, loss, tokens/s, MFU, exposed communication,
// bus bandwidth), from the metrics files they rewrite at every logged step (--metrics-file), served beside the
// node's hardware counters with the files' own labels (benchmark, job, rank).
#pragma once

#include <filesystem>

#include "collector.hpp"

namespace awsdt::exporter {

class AwsdtCollector : public Collector {
 public:
  /// `dir`: where the benchmarks write their *.prom files. A directory that does not exist (yet) is no error:
  /// no job has written to it.
  explicit AwsdtCollector(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::string name() const override { return "awsdt"; }
  std::string collect(FamilySet& out) const override;

 private:
  std::filesystem::path dir_;
};

}  // namespace awsdt::exporter
