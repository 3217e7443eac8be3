// RoPE inverse frequencies (optionally Llama-3 scaled) and the engine's cos/sin table.
#include "nn/rope.hpp"

#include <cmath>
#include <cstddef>
#include <numbers>

namespace awsdt::nn {
namespace {

// One frequency through Llama-3 scaling. The edges follow Hugging Face (strict < and >); the blend is continuous
// there, so a wavelength exactly on an edge gets (up to rounding) the value of the band beside it.
double llama3_scaled(double inv_freq, const ModelConfig& c) {
  const double original = c.rope_original_max_seq_len, low = c.rope_low_freq_factor, high = c.rope_high_freq_factor;
  const double wavelen = 2.0 * std::numbers::pi / inv_freq;
  if (wavelen < original / high) return inv_freq;
  if (wavelen > original / low) return inv_freq / c.rope_scaling_factor;
  const double smooth = (original / wavelen - low) / (high - low);
  return (1.0 - smooth) * inv_freq / c.rope_scaling_factor + smooth * inv_freq;
}

}  // namespace

std::vector<double> rope_inv_freq(const ModelConfig& config) {
  const int head_dim = config.head_dim();
  std::vector<double> inv_freq(static_cast<std::size_t>(head_dim / 2));
  for (int i = 0; i < head_dim / 2; ++i) {
    // The kernel's expression, so an unscaled table matches make_rope_table bit for bit.
    inv_freq[i] = 1.0 / std::pow(config.rope_theta, (2.0 * i) / head_dim);
    if (config.rope_scaled()) inv_freq[i] = llama3_scaled(inv_freq[i], config);
  }
  return inv_freq;
}

kernels::cpu::RopeTable<float> model_rope_table(const ModelConfig& config, int max_pos) {
  const std::vector<double> inv_freq = rope_inv_freq(config);
  kernels::cpu::RopeTable<float> table;
  table.max_pos = max_pos;
  table.half = static_cast<int>(inv_freq.size());
  table.cos.resize(static_cast<std::size_t>(max_pos) * table.half);
  table.sin.resize(table.cos.size());
  for (int p = 0; p < max_pos; ++p) {
    for (int i = 0; i < table.half; ++i) {
      const double angle = p * inv_freq[i];
      table.cos[static_cast<std::size_t>(p) * table.half + i] = static_cast<float>(std::cos(angle));
      table.sin[static_cast<std::size_t>(p) * table.half + i] = static_cast<float>(std::sin(angle));
    }
  }
  return table;
}

}  // namespace awsdt::nn
