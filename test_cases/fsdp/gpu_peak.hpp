// Peak dense bf16 FLOP/s of a GPU, from the instance catalog (architectures/instances.json), for MFU on GPUs.
#pragma once

#include <optional>
#include <string>

namespace awsdt::fsdp {

/// The catalog's peak_bf16_tflops for the GPU whose name (as the driver reports it, e.g. "NVIDIA H100 80GB
/// HBM3") contains the model of a catalog entry's "gpu" (the part before the first '-', e.g. "H100" of
/// "H100-SXM5-80GB"); nullopt when none matches or the catalog cannot be read.
std::optional<double> gpu_peak_tflops(const std::string& gpu_name, const std::string& catalog_path);

/// The catalog of this source tree: AWSDT_SOURCE_DIR/architectures/instances.json.
std::string default_instance_catalog();

}  // namespace awsdt::fsdp
