// The GPU peak lookup behind MFU on GPUs: driver names against the real instance catalog, and a catalog
// written here for the edge cases (longest model wins, unreadable file).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gpu_peak.hpp"

using awsdt::fsdp::default_instance_catalog;
using awsdt::fsdp::gpu_peak_tflops;

TEST(GpuPeak, DriverNamesOfAwsGpusFindTheirCatalogPeak) {
  const std::string catalog = default_instance_catalog();
  EXPECT_EQ(gpu_peak_tflops("NVIDIA H100 80GB HBM3", catalog), 989.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA H200", catalog), 989.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA A100-SXM4-80GB", catalog), 312.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA A10G", catalog), 70.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA L40S", catalog), 362.0);  // not L4's 121: the longer model matches
  EXPECT_EQ(gpu_peak_tflops("NVIDIA L4", catalog), 121.0);
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA GeForce RTX 4090", catalog).has_value());
}

TEST(GpuPeak, MissingOrForeignCatalogGivesNothing) {
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA H100", "/nonexistent/instances.json").has_value());
  const auto path = std::filesystem::temp_directory_path() / "awsdt_gpu_peak_catalog.json";
  std::ofstream(path) << R"({"instances": {"x.large": {"gpu": "Z9-PCIE", "peak_bf16_tflops": 7}}})";
  EXPECT_EQ(gpu_peak_tflops("Acme Z9", path.string()), 7.0);
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA H100", path.string()).has_value());
  std::ofstream(path) << "not json";
  EXPECT_FALSE(gpu_peak_tflops("Acme Z9", path.string()).has_value());
  std::filesystem::remove(path);
}
