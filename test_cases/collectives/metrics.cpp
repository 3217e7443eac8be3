// --metrics-file for awsdt-collectives (see metrics.hpp).
#include "metrics.hpp"

namespace awsdt::collectives {

void MetricsReport::row(const Row& row) {
  next_.row(row);
  ++step_;
  if (!file_.enabled()) return;
  const Measurement& m = row.out_of_place;
  const std::vector<std::pair<std::string, std::string>> labels{{"collective", std::string(row.collective->name)},
                                                                {"message_bytes", std::to_string(row.bytes)}};
  file_.write(
      {{"awsdt_step", "Rows measured so far (one size of one collective each).", double(step_)},
       {"awsdt_busbw_bytes_per_second", "Bus bandwidth of the last row, out of place.", m.busbw * 1e9, labels},
       {"awsdt_algbw_bytes_per_second", "Algorithm bandwidth of the last row, out of place.", m.algbw * 1e9, labels},
       {"awsdt_collective_seconds", "Time of one operation of the last row, out of place.", m.time_us * 1e-6, labels}});
}

}  // namespace awsdt::collectives
