// AWS Batch: a multi-node parallel job definition registered under a content-hashed name (an unchanged one is
// reused), SubmitJob with nodeOverrides, describe-jobs in batches of 100, terminate-job, CloudWatch logs.
#pragma once

#include <memory>
#include <string>

#include "cluster/backend.hpp"

namespace awsdt::launcher {

/// AWS Batch multi-node parallel jobs.
std::unique_ptr<ClusterBackend> make_batch_backend();

}  // namespace awsdt::launcher
