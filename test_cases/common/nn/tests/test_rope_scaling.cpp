// Tests of Llama-3 RoPE frequency scaling: the presets' settings, validation, the engine's inverse frequencies
// and cos/sin table against Meta's apply_scaling written out here for factors 8 and 32 (with frequencies in all
// three bands), scaling off giving the kernel's unscaled table bit for bit, and the scaled table reaching the Model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "kernels/cpu/llama_rope.hpp"
#include "nn/config.hpp"
#include "nn/model.hpp"
#include "nn/rope.hpp"
#include "util/error.hpp"

namespace awsdt::nn {
namespace {

// Which band each frequency fell in, to show a test covers all three.
struct Bands {
  int kept = 0, blended = 0, divided = 0;
};

// Meta's apply_scaling (llama/model.py of Llama 3.1), one frequency at a time, from theta^(-2i/head_dim).
double reference_inv_freq(const ModelConfig& c, int i, Bands& bands) {
  const double freq = std::pow(c.rope_theta, -2.0 * i / c.head_dim());
  const double low_freq_wavelen = c.rope_original_max_seq_len / c.rope_low_freq_factor;
  const double high_freq_wavelen = c.rope_original_max_seq_len / c.rope_high_freq_factor;
  const double wavelen = 2 * std::numbers::pi / freq;
  if (wavelen < high_freq_wavelen) {
    ++bands.kept;
    return freq;
  }
  if (wavelen > low_freq_wavelen) {
    ++bands.divided;
    return freq / c.rope_scaling_factor;
  }
  ++bands.blended;
  const double smooth = (c.rope_original_max_seq_len / wavelen - c.rope_low_freq_factor) /
                        (c.rope_high_freq_factor - c.rope_low_freq_factor);
  return (1 - smooth) * freq / c.rope_scaling_factor + smooth * freq;
}

void expect_scaled_as_reference(const std::string& preset, double factor) {
  const ModelConfig c = model_preset(preset);
  ASSERT_EQ(c.rope_scaling_factor, factor) << preset;
  const std::vector<double> inv_freq = rope_inv_freq(c);
  ASSERT_EQ(inv_freq.size(), static_cast<std::size_t>(c.head_dim() / 2));
  Bands bands;
  std::vector<double> expected;
  for (int i = 0; i < c.head_dim() / 2; ++i) expected.push_back(reference_inv_freq(c, i, bands));
  EXPECT_GT(bands.kept, 0) << preset;
  EXPECT_GT(bands.blended, 0) << preset;
  EXPECT_GT(bands.divided, 0) << preset;
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(inv_freq[i], expected[i], 1e-14 * expected[i]) << preset << " i=" << i;
  EXPECT_EQ(inv_freq.front(), 1.0);  // the highest frequency is kept, the lowest divided by the factor
  EXPECT_DOUBLE_EQ(inv_freq.back(), std::pow(c.rope_theta, -(c.head_dim() - 2.0) / c.head_dim()) / factor);

  // The table is cos/sin of pos · frequency, checked out to positions past the original context.
  const int T = c.rope_original_max_seq_len + 100;
  const kernels::cpu::RopeTable<float> table = model_rope_table(c, T);
  ASSERT_EQ(table.max_pos, T);
  ASSERT_EQ(table.half, c.head_dim() / 2);
  for (int p : {0, 1, 37, 2048, 8191, T - 1}) {
    for (int i = 0; i < table.half; ++i) {
      const std::size_t at = static_cast<std::size_t>(p) * table.half + i;
      EXPECT_NEAR(table.cos[at], std::cos(p * expected[i]), 1e-6) << preset << " pos " << p << " i " << i;
      EXPECT_NEAR(table.sin[at], std::sin(p * expected[i]), 1e-6) << preset << " pos " << p << " i " << i;
    }
  }
}

TEST(NnRopeScaling, PresetsCarryLlama3Scaling) {
  for (const char* name : {"llama3_1_8b", "llama3_1_70b", "llama3_2_1b", "llama3_2_3b"}) {
    const ModelConfig c = model_preset(name);
    EXPECT_EQ(c.rope_scaling_factor, std::string(name).starts_with("llama3_1") ? 8.0 : 32.0) << name;
    EXPECT_EQ(c.rope_low_freq_factor, 1.0) << name;
    EXPECT_EQ(c.rope_high_freq_factor, 4.0) << name;
    EXPECT_EQ(c.rope_original_max_seq_len, 8192) << name;
    EXPECT_EQ(c.rope_theta, 500000.0) << name;
    EXPECT_TRUE(c.rope_scaled()) << name;
  }
  for (const char* name : {"tiny", "small", "llama2_7b", "mistral_7b"})
    EXPECT_FALSE(model_preset(name).rope_scaled()) << name;
}

TEST(NnRopeScaling, Factor8MatchesReference) { expect_scaled_as_reference("llama3_1_8b", 8.0); }

TEST(NnRopeScaling, Factor32MatchesReference) { expect_scaled_as_reference("llama3_2_1b", 32.0); }

TEST(NnRopeScaling, OffGivesTheUnscaledTable) {
  for (double factor : {0.0, 1.0}) {
    ModelConfig c = model_preset("llama3_1_8b");
    c.rope_scaling_factor = factor;
    EXPECT_FALSE(c.rope_scaled());
    const std::vector<double> inv_freq = rope_inv_freq(c);
    for (int i = 0; i < c.head_dim() / 2; ++i)
      EXPECT_NEAR(inv_freq[i], std::pow(c.rope_theta, -2.0 * i / c.head_dim()), 1e-14 * inv_freq[i]) << i;
    const int T = 300;
    const auto table = model_rope_table(c, T);
    const auto plain = kernels::cpu::make_rope_table<float>(T, c.head_dim(), c.rope_theta);
    ASSERT_EQ(table.cos.size(), plain.cos.size());
    EXPECT_EQ(std::memcmp(table.cos.data(), plain.cos.data(), plain.cos.size() * sizeof(float)), 0) << factor;
    EXPECT_EQ(std::memcmp(table.sin.data(), plain.sin.data(), plain.sin.size() * sizeof(float)), 0) << factor;
  }
}

TEST(NnRopeScaling, ModelUsesTheScaledTable) {
  // tiny's lowest frequencies (wavelengths up to ~35000) fall in the divided band of an 8192 original context.
  ModelConfig plain = model_preset("tiny");
  ModelConfig scaled = plain;
  scaled.rope_scaling_factor = 8.0;
  std::vector<std::int32_t> tokens(64), targets(64);
  for (int i = 0; i < 64; ++i) tokens[i] = (i * 37) % plain.vocab_size, targets[i] = (i * 11) % plain.vocab_size;
  Model a(plain, 3), b(scaled, 3);
  EXPECT_NE(a.forward(tokens.data(), targets.data(), 1, 64), b.forward(tokens.data(), targets.data(), 1, 64));
}

// The UsageError message of validating c, or "" if it validates.
std::string validation_error(const ModelConfig& c) {
  try {
    c.validate();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(NnRopeScaling, ValidationNamesFieldAndValue) {
  ModelConfig c = model_preset("llama3_1_8b");
  c.rope_scaling_factor = 0.5;
  EXPECT_NE(validation_error(c).find("rope_scaling_factor must be 0 (off) or >= 1 (got 0.5)"), std::string::npos);
  c = model_preset("llama3_1_8b");
  c.rope_low_freq_factor = 0;
  EXPECT_NE(validation_error(c).find("rope_low_freq_factor must be positive (got 0)"), std::string::npos);
  c = model_preset("llama3_1_8b");
  c.rope_high_freq_factor = 1;
  EXPECT_NE(validation_error(c).find("rope_high_freq_factor (1) must exceed rope_low_freq_factor (1)"),
            std::string::npos);
  c = model_preset("llama3_1_8b");
  c.rope_original_max_seq_len = -1;
  EXPECT_NE(validation_error(c).find("rope_original_max_seq_len must be positive (got -1)"), std::string::npos);
  c = model_preset("tiny");
  c.rope_scaling_factor = 1.0;  // 1 is "off", not an error
  EXPECT_EQ(validation_error(c), "");
}

}  // namespace
}  // namespace awsdt::nn
