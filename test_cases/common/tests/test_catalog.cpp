// The GPU peak lookup behind MFU on GPUs: driver names against the catalog compiled into the executable, and
// catalogs written here for the edge cases (longest model wins, form factors, not a catalog).
#include <gtest/gtest.h>

#include <string>

#include "results/catalog.hpp"

using awsdt::embedded_instance_catalog;
using awsdt::gpu_peak_tflops;

TEST(GpuPeak, DriverNamesOfAwsGpusFindTheirCatalogPeak) {
  const std::string_view catalog = embedded_instance_catalog();
  EXPECT_EQ(gpu_peak_tflops("NVIDIA H100 80GB HBM3", catalog), 989.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA H200", catalog), 989.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA A100-SXM4-80GB", catalog), 312.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA B200", catalog), 2250.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA A10G", catalog), 70.0);
  EXPECT_EQ(gpu_peak_tflops("NVIDIA L40S", catalog), 362.0);  // not L4's 121: the longer model matches
  EXPECT_EQ(gpu_peak_tflops("NVIDIA L4", catalog), 121.0);
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA GeForce RTX 4090", catalog).has_value());
}

TEST(GpuPeak, SxmPeaksAreNotClaimedForPcieOrNvlCards) {
  const std::string_view catalog = embedded_instance_catalog();
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA H100 PCIe", catalog).has_value());  // 756 TFLOP/s, not the SXM's 989
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA H100 NVL", catalog).has_value());   // 835
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA A100-PCIE-40GB", catalog).has_value());
  const std::string both =
      R"({"instances": {"a": {"gpu": "H100-SXM5-80GB", "peak_bf16_tflops": 989},
                        "b": {"gpu": "H100-PCIE-80GB", "peak_bf16_tflops": 756}}})";
  EXPECT_EQ(gpu_peak_tflops("NVIDIA H100 PCIe", both), 756.0);
}

TEST(GpuPeak, ForeignOrBrokenCatalogGivesNothing) {
  const std::string one = R"({"instances": {"x.large": {"gpu": "Z9-PCIE", "peak_bf16_tflops": 7}}})";
  EXPECT_EQ(gpu_peak_tflops("Acme Z9", one), 7.0);
  EXPECT_FALSE(gpu_peak_tflops("NVIDIA H100", one).has_value());
  EXPECT_FALSE(gpu_peak_tflops("Acme Z9", "not json").has_value());
  EXPECT_FALSE(gpu_peak_tflops("Acme Z9", R"({"instances": [1, 2]})").has_value());
}
