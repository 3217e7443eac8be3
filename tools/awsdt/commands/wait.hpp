// Waiting for a job (awsdt run --wait/--follow, awsdt logs --follow) and refreshing recorded states.
#pragma once

#include <vector>

#include "jobdb.hpp"

namespace awsdt::launcher {

/// Polls until the job is terminal (streaming rank `rank`'s log, whole lines, when `follow`); prints the end of
/// the log of a job that failed; returns its exit status (128+15 when cancelled, 1 when failed without one).
int wait_for_job(JobDb& db, const JobRecord& job, bool follow, int rank = 0);
/// Asks each backend once about all non-terminal `jobs` and records the answers; returns them updated.
std::vector<JobRecord> refresh(JobDb& db, std::vector<JobRecord> jobs);

}  // namespace awsdt::launcher
