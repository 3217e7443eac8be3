// The parser of `dcgmi diag -j`'s document: {"DCGM GPU Diagnostic": {"test_categories": [{"category", "tests":
// [{"name", "results": [{"gpu_ids"|"gpu_id", "status": Pass|Fail|Warn|Skip, "warning_level"?, "warnings"?}]}]}]}}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace awsdt::health {

struct DcgmFinding {
  std::string test, status, detail;
  int level = 0;  ///< DCGM's warning level: 3 critical, 2 recoverable, 1 informational
};

struct DcgmDiag {
  int tests = 0;                    ///< results read
  std::vector<DcgmFinding> failed;  ///< every result that is neither Pass nor Skip
};

/// nullopt when `text` holds no diagnostic document. A result without a warning level is level 3 when it failed
/// and 1 when it warned.
std::optional<DcgmDiag> parse_dcgm_diag(std::string_view text);

}  // namespace awsdt::health
