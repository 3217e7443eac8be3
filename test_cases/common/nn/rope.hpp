// The RoPE frequencies of a ModelConfig, with Llama-3 frequency scaling when the config asks for it, and the
// cos/sin table the engine rotates q and k with. The kernel's make_rope_table knows only theta, so the engine
// builds its table here from the (possibly scaled) frequencies.
#pragma once

#include <vector>

#include "kernels/cpu/llama_rope.hpp"
#include "nn/config.hpp"

namespace awsdt::nn {

/// The head_dim/2 inverse frequencies theta^(-2i/head_dim), rescaled as Hugging Face's _compute_llama3_parameters
/// (Meta's apply_scaling) when config.rope_scaled(): wavelengths 2π/f below original/high_freq_factor are kept,
/// those above original/low_freq_factor divided by the factor, and the band between blended smoothly.
std::vector<double> rope_inv_freq(const ModelConfig& config);

/// cos/sin of pos · rope_inv_freq(config) for positions [0, max_pos); with scaling off it equals
/// kernels::cpu::make_rope_table<float>(max_pos, head_dim, rope_theta) bit for bit.
kernels::cpu::RopeTable<float> model_rope_table(const ModelConfig& config, int max_pos);

}  // namespace awsdt::nn
