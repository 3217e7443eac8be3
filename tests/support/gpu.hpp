// GPU tests (label gpu) run where a GPU is visible and skip with one message elsewhere.
#pragma once

#include <gtest/gtest.h>

#include "device/device.hpp"

/// First statement of a GPU test: skips it when no CUDA device is visible to this process.
#define REQUIRE_GPU() \
  if (::awsdt::cuda_device_count() == 0) GTEST_SKIP() << "no GPU visible: skipping GPU test"
