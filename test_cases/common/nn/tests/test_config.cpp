// Tests of ModelConfig: presets, validation messages, parameter counts against the published totals,
// the FLOPs formula, the unit layouts and the deterministic initialiser.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "nn/config.hpp"
#include "nn/init.hpp"
#include "nn/layout.hpp"
#include "util/error.hpp"

namespace awsdt::nn {
namespace {

TEST(NnConfig, TinyPresetShape) {
  ModelConfig c = model_preset("tiny");
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.dim, 128);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.ffn_dim, 384);
  EXPECT_EQ(c.max_seq_len, 64);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.head_dim(), 32);
  EXPECT_EQ(c.kv_dim(), 64);
}

TEST(NnConfig, EveryPresetValidates) {
  for (const std::string& name : model_preset_names()) EXPECT_NO_THROW(model_preset(name)) << name;
  EXPECT_EQ(model_preset_names().size(), 10u);
}

TEST(NnConfig, PublishedParameterCounts) {
  // Totals of the Hugging Face checkpoints.
  EXPECT_EQ(model_preset("llama2_7b").parameter_count(), 6738415616LL);
  EXPECT_EQ(model_preset("llama2_13b").parameter_count(), 13015864320LL);
  EXPECT_EQ(model_preset("llama2_70b").parameter_count(), 68976648192LL);
  EXPECT_EQ(model_preset("llama3_1_8b").parameter_count(), 8030261248LL);
  EXPECT_EQ(model_preset("llama3_1_70b").parameter_count(), 70553706496LL);
  EXPECT_EQ(model_preset("llama3_2_1b").parameter_count(), 1235814400LL);
  EXPECT_EQ(model_preset("llama3_2_3b").parameter_count(), 3212749824LL);
  EXPECT_EQ(model_preset("mistral_7b").parameter_count(), 7248023552LL);
}

TEST(NnConfig, RopeThetaByFamily) {
  EXPECT_EQ(model_preset("llama2_7b").rope_theta, 10000.0);
  EXPECT_EQ(model_preset("llama3_1_8b").rope_theta, 500000.0);
  EXPECT_EQ(model_preset("mistral_7b").rope_theta, 1e6);
  EXPECT_TRUE(model_preset("llama3_2_1b").tied_embeddings);
  EXPECT_FALSE(model_preset("llama3_1_8b").tied_embeddings);
}

TEST(NnConfig, FlopsPerTokenIsTorchtitansCount) {
  ModelConfig c = model_preset("llama3_1_8b");
  const double n = static_cast<double>(c.parameter_count()) - 128256.0 * 4096.0;
  EXPECT_EQ(c.non_embedding_parameter_count(), c.parameter_count() - 128256LL * 4096LL);
  EXPECT_DOUBLE_EQ(c.flops_per_token(8192), 6.0 * n + 12.0 * 32 * 4096 * 8192);
}

TEST(NnConfig, FlopsPerTokenCountsATiedHeadsMatmul) {
  // llama3_2_1b ties its head to the embedding table: the table is looked up (no FLOPs) and multiplied once
  // as the LM head (6 · vocab · dim per token), so every one of its parameters is counted once.
  ModelConfig c = model_preset("llama3_2_1b");
  EXPECT_EQ(c.matmul_parameter_count(), 1235814400LL);
  EXPECT_DOUBLE_EQ(c.flops_per_token(2048), 6.0 * 1235814400.0 + 12.0 * 16 * 2048 * 2048);
  // The same shape untied gains a head matrix but no FLOPs: the extra table is only looked up.
  c.tied_embeddings = false;
  EXPECT_EQ(c.matmul_parameter_count(), 1235814400LL);
  EXPECT_DOUBLE_EQ(c.flops_per_token(2048), 6.0 * 1235814400.0 + 12.0 * 16 * 2048 * 2048);
}

TEST(NnConfig, UnknownPresetListsThePresets) {
  try {
    model_preset("llama9");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("llama9"), std::string::npos);
    EXPECT_NE(what.find("tiny"), std::string::npos);
    EXPECT_NE(what.find("mistral_7b"), std::string::npos);
  }
}

TEST(NnConfig, ValidateRejectsBadShapes) {
  ModelConfig c = model_preset("tiny");
  c.n_heads = 3;  // does not divide 128
  EXPECT_THROW(c.validate(), UsageError);
  c = model_preset("tiny");
  c.n_kv_heads = 3;  // does not divide 4
  EXPECT_THROW(c.validate(), UsageError);
  c = model_preset("tiny");
  c.vocab_size = 0;
  EXPECT_THROW(c.validate(), UsageError);
}

TEST(NnLayout, BlockUnitIsContiguousWithHfNames) {
  ModelConfig c = model_preset("tiny");
  UnitLayout u = block_layout(c, 1);
  ASSERT_EQ(u.tensors.size(), 9u);
  EXPECT_EQ(u.tensors[0].name, "model.layers.1.input_layernorm.weight");
  EXPECT_EQ(u.tensors[2].name, "model.layers.1.self_attn.k_proj.weight");
  EXPECT_EQ(u.tensors[2].rows, 64);
  EXPECT_EQ(u.tensors[8].name, "model.layers.1.mlp.down_proj.weight");
  std::size_t at = 0;
  for (const TensorSlot& t : u.tensors) {
    EXPECT_EQ(t.offset, at);
    at += t.size();
  }
  EXPECT_EQ(u.size, at);
  EXPECT_EQ(static_cast<std::int64_t>(u.size), c.block_parameter_count());
  EXPECT_EQ(head_layout(c).tensors.size(), 1u);  // tied: no lm_head
  c.tied_embeddings = false;
  EXPECT_EQ(head_layout(c).tensors.back().name, "lm_head.weight");
}

TEST(NnInit, NormalSamplesAreDeterministicAndStandard) {
  EXPECT_EQ(normal_sample(7, 3, 12345), normal_sample(7, 3, 12345));
  EXPECT_NE(normal_sample(7, 3, 12345), normal_sample(7, 4, 12345));
  double sum = 0, sum_sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double x = normal_sample(42, 0, i);
    sum += x;
    sum_sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.01);
}

}  // namespace
}  // namespace awsdt::nn
