// Presets and arithmetic of ModelConfig. Published shapes come from the models' Hugging Face config.json.
#include "nn/config.hpp"

#include <fmt/format.h>

#include <string>

#include "util/error.hpp"

namespace awsdt::nn {
namespace {

struct Preset {
  const char* name;
  ModelConfig config;
};

// vocab, dim, layers, heads, kv heads, ffn, max seq, eps, theta, tied, then (Llama 3.1 and 3.2 only) the
// "llama3" RoPE scaling of their config.json: factor, low_freq_factor, high_freq_factor, original max seq.
const Preset kPresets[] = {
    {"tiny", {512, 128, 2, 4, 2, 384, 64, 1e-5, 10000.0, true}},
    {"small", {8192, 512, 8, 8, 4, 1536, 256, 1e-5, 10000.0, true}},
    {"llama2_7b", {32000, 4096, 32, 32, 32, 11008, 4096, 1e-5, 10000.0, false}},
    {"llama2_13b", {32000, 5120, 40, 40, 40, 13824, 4096, 1e-5, 10000.0, false}},
    {"llama2_70b", {32000, 8192, 80, 64, 8, 28672, 4096, 1e-5, 10000.0, false}},
    {"llama3_1_8b", {128256, 4096, 32, 32, 8, 14336, 131072, 1e-5, 500000.0, false, 8.0, 1.0, 4.0, 8192}},
    {"llama3_1_70b", {128256, 8192, 80, 64, 8, 28672, 131072, 1e-5, 500000.0, false, 8.0, 1.0, 4.0, 8192}},
    {"llama3_2_1b", {128256, 2048, 16, 32, 8, 8192, 131072, 1e-5, 500000.0, true, 32.0, 1.0, 4.0, 8192}},
    {"llama3_2_3b", {128256, 3072, 28, 24, 8, 8192, 131072, 1e-5, 500000.0, true, 32.0, 1.0, 4.0, 8192}},
    // Mistral-7B-v0.3 (v0.2's shape with a 32768-token vocabulary); no sliding window.
    {"mistral_7b", {32768, 4096, 32, 32, 8, 14336, 32768, 1e-5, 1000000.0, false}},
};

std::string preset_list() {
  std::string out;
  for (const Preset& p : kPresets) out += (out.empty() ? "" : ", ") + std::string(p.name);
  return out;
}

void require(bool cond, const std::string& what) {
  if (!cond) throw UsageError("model config: " + what);
}

}  // namespace

void ModelConfig::validate() const {
  require(vocab_size > 0, "vocab_size must be positive (got " + std::to_string(vocab_size) + ")");
  require(dim > 0, "dim must be positive (got " + std::to_string(dim) + ")");
  require(n_layers > 0, "n_layers must be positive (got " + std::to_string(n_layers) + ")");
  require(n_heads > 0, "n_heads must be positive (got " + std::to_string(n_heads) + ")");
  require(n_kv_heads > 0, "n_kv_heads must be positive (got " + std::to_string(n_kv_heads) + ")");
  require(ffn_dim > 0, "ffn_dim must be positive (got " + std::to_string(ffn_dim) + ")");
  require(max_seq_len > 0, "max_seq_len must be positive (got " + std::to_string(max_seq_len) + ")");
  require(dim % n_heads == 0,
          "n_heads (" + std::to_string(n_heads) + ") must divide dim (" + std::to_string(dim) + ")");
  require(n_heads % n_kv_heads == 0,
          "n_kv_heads (" + std::to_string(n_kv_heads) + ") must divide n_heads (" + std::to_string(n_heads) + ")");
  require(head_dim() % 2 == 0, "head_dim (" + std::to_string(head_dim()) + ") must be even for RoPE");
  require(norm_eps > 0, "norm_eps must be positive");
  require(rope_theta > 0, "rope_theta must be positive");
  require(rope_scaling_factor == 0 || rope_scaling_factor >= 1,
          fmt::format("rope_scaling_factor must be 0 (off) or >= 1 (got {})", rope_scaling_factor));
  require(rope_low_freq_factor > 0,
          fmt::format("rope_low_freq_factor must be positive (got {})", rope_low_freq_factor));
  require(rope_high_freq_factor > rope_low_freq_factor,
          fmt::format("rope_high_freq_factor ({}) must exceed rope_low_freq_factor ({})", rope_high_freq_factor,
                      rope_low_freq_factor));
  require(rope_original_max_seq_len > 0,
          fmt::format("rope_original_max_seq_len must be positive (got {})", rope_original_max_seq_len));
}

std::int64_t ModelConfig::block_parameter_count() const {
  const std::int64_t d = dim, kv = kv_dim(), f = ffn_dim;
  return 2 * d + 2 * d * d + 2 * kv * d + 3 * f * d;
}

std::int64_t ModelConfig::parameter_count() const {
  const std::int64_t embedding = static_cast<std::int64_t>(vocab_size) * dim;
  return embedding + n_layers * block_parameter_count() + dim + (tied_embeddings ? 0 : embedding);
}

std::int64_t ModelConfig::non_embedding_parameter_count() const {
  return parameter_count() - static_cast<std::int64_t>(vocab_size) * dim;
}

std::int64_t ModelConfig::matmul_parameter_count() const {
  return tied_embeddings ? parameter_count() : non_embedding_parameter_count();
}

double ModelConfig::flops_per_token(int seq) const {
  return 6.0 * static_cast<double>(matmul_parameter_count()) + 12.0 * n_layers * static_cast<double>(dim) * seq;
}

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return names;
}

ModelConfig model_preset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (name == p.name) {
      p.config.validate();
      return p.config;
    }
  }
  throw UsageError("unknown model preset '" + std::string(name) + "' (known: " + preset_list() + ")");
}

}  // namespace awsdt::nn
