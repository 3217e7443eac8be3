// The checks as data (data/checks.json, compiled in): id, name, expected duration, timeout, suites and the
// severity of each way a check can fail. The code of a check only names a failure; what it costs the node is here.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "severity.hpp"

namespace awsdt::health {

/// The suites, in the order --help lists them.
const std::vector<std::string>& suite_names();

struct CheckInfo {
  std::string id, name;
  double expected_s = 0, timeout_s = 0;
  std::vector<std::string> suites;
  /// failure key -> severity; "table" rows (Xids) are absent here: their severity comes from the Xid table.
  std::map<std::string, Severity> failures;
  /// The severity of `key`, or of the defaults ("timeout", "error"); throws Error for a key the data lacks.
  Severity severity_of(const std::string& key) const;
  bool in_suite(std::string_view suite) const;
};

/// Every check, in the data's order (the order suites run them).
const std::vector<CheckInfo>& check_infos();
/// The check called `id`; throws UsageError listing the ids.
const CheckInfo& check_info(std::string_view id);

/// The compiled-in documents.
std::string_view embedded_checks_json();
std::string_view embedded_xid_json();

}  // namespace awsdt::health
