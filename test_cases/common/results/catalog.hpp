// Peak dense bf16 FLOP/s of a GPU, from the instance catalog (architectures/instances.json, compiled into the
// executable so that a node or container without the source tree has it), for MFU on GPUs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace awsdt {

/// The catalog's peak_bf16_tflops for the GPU whose name (as the driver reports it, e.g. "NVIDIA H100 80GB
/// HBM3") contains the model of a catalog entry's "gpu" (the part before the first '-', e.g. "H100" of
/// "H100-SXM5-80GB"), the longest model winning. An SXM entry does not match a PCIe or NVL card (an H100 PCIe
/// peaks at 756 TFLOP/s, not 989). nullopt when nothing matches or `catalog_json` is not a catalog.
std::optional<double> gpu_peak_tflops(const std::string& gpu_name, std::string_view catalog_json);

/// architectures/instances.json as it was at build time.
std::string_view embedded_instance_catalog();

}  // namespace awsdt
