// The engine against Hugging Face transformers: checkpoints written by transformers' own
// LlamaForCausalLM.save_pretrained (F32, BF16, and a tied BF16 model) load with load_safetensors and give the
// loss and logits transformers computes for them. The fixture (tests/fixtures/hf_llama) is made by
// make_fixture.py there, whose docstring says how the references were computed and how to rerun it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/config.hpp"
#include "nn/model.hpp"
#include "nn/safetensors.hpp"

#ifndef AWSDT_HF_FIXTURE_DIR
#error "AWSDT_HF_FIXTURE_DIR must name tests/fixtures/hf_llama"
#endif

namespace awsdt::nn {
namespace {

constexpr double kLossRelTol = 1e-5;   // engine loss vs transformers' loss, relative
constexpr double kLogitAbsTol = 1e-4;  // engine logits vs transformers' logits, absolute

std::string fixture(const std::string& name) { return std::string(AWSDT_HF_FIXTURE_DIR) + "/" + name; }

const nlohmann::json& expected() {
  static const nlohmann::json j = [] {
    std::ifstream in(fixture("expected.json"));
    if (!in) throw std::runtime_error("cannot open " + fixture("expected.json"));
    return nlohmann::json::parse(in);
  }();
  return j;
}

// The tiny preset (the fixture's shape) with the checkpoint's tying.
ModelConfig config_for(bool tied) {
  ModelConfig c = model_preset("tiny");
  c.tied_embeddings = tied;
  return c;
}

struct Loaded {
  Model model;
  float loss = 0;
  int B = 0, T = 0;
};

// Loads the checkpoint at path into run.model and runs the fixture's batch through it.
void run_checkpoint(Loaded& run, const std::string& path) {
  const nlohmann::json& e = expected();
  run.B = e.at("B").get<int>();
  run.T = e.at("T").get<int>();
  std::vector<std::int32_t> tokens, targets;
  for (const auto& row : e.at("tokens"))
    for (const auto& v : row) tokens.push_back(v.get<std::int32_t>());
  for (const auto& row : e.at("targets"))
    for (const auto& v : row) targets.push_back(v.get<std::int32_t>());  // -100 = ignored (< 0 for the engine)
  ASSERT_EQ(tokens.size(), static_cast<std::size_t>(run.B * run.T));
  ASSERT_EQ(targets.size(), tokens.size());
  load_safetensors(run.model, path);
  run.loss = run.model.forward(tokens.data(), targets.data(), run.B, run.T);
}

// Compares loss, per-token losses, per-position log-sum-exp and the recorded logits with transformers'.
void check_against(const Loaded& run, const nlohmann::json& ref) {
  const int V = run.model.config().vocab_size;
  const std::vector<float>& logits = run.model.logits();
  const double ref_loss = ref.at("loss").get<double>();
  EXPECT_NEAR(run.loss, ref_loss, kLossRelTol * std::abs(ref_loss)) << "loss";

  const nlohmann::json& targets = expected().at("targets");
  double max_lse = 0, max_tok = 0, max_logit = 0;
  for (int b = 0; b < run.B; ++b) {
    for (int t = 0; t < run.T; ++t) {
      const float* z = logits.data() + (static_cast<std::size_t>(b) * run.T + t) * V;
      double m = *std::max_element(z, z + V), s = 0;
      for (int i = 0; i < V; ++i) s += std::exp(static_cast<double>(z[i]) - m);
      const double lse = m + std::log(s);
      const double ref_lse = ref.at("logsumexp").at(b).at(t).get<double>();
      EXPECT_NEAR(lse, ref_lse, kLogitAbsTol) << "log-sum-exp of logits[" << b << "," << t << "]";
      max_lse = std::max(max_lse, std::abs(lse - ref_lse));
      const int y = targets.at(b).at(t).get<int>();
      const nlohmann::json& ref_tok = ref.at("per_token_loss").at(b).at(t);
      ASSERT_EQ(y < 0, ref_tok.is_null()) << "ignored targets differ at [" << b << "," << t << "]";
      if (y >= 0) {
        const double tok = lse - z[y];
        EXPECT_NEAR(tok, ref_tok.get<double>(), kLogitAbsTol) << "token loss at [" << b << "," << t << "]";
        max_tok = std::max(max_tok, std::abs(tok - ref_tok.get<double>()));
      }
    }
  }
  for (const nlohmann::json& pos : ref.at("logits")) {
    const int b = pos.at("b").get<int>(), t = pos.at("t").get<int>();
    const nlohmann::json& vocab = pos.at("vocab");
    const nlohmann::json& values = pos.at("values");
    ASSERT_EQ(vocab.size(), values.size());
    for (std::size_t k = 0; k < vocab.size(); ++k) {
      const int v = vocab.at(k).get<int>();
      const double ours = logits.at((static_cast<std::size_t>(b) * run.T + t) * V + v);
      EXPECT_NEAR(ours, values.at(k).get<double>(), kLogitAbsTol) << "logits[" << b << "," << t << "," << v << "]";
      max_logit = std::max(max_logit, std::abs(ours - values.at(k).get<double>()));
    }
  }
  std::printf(
      "  %s: engine loss %.8f, transformers %.8f (rel diff %.2e); max |diff| logits %.2e, "
      "log-sum-exp %.2e, token loss %.2e\n",
      ref.at("file").get<std::string>().c_str(), run.loss, ref_loss, std::abs(run.loss - ref_loss) / std::abs(ref_loss),
      max_logit, max_lse, max_tok);
}

void check_checkpoint(const std::string& file, bool tied, const std::string& dtype) {
  const nlohmann::json& ref = expected().at("checkpoints").at(file);
  ASSERT_EQ(ref.at("tied").get<bool>(), tied);
  ASSERT_EQ(ref.at("dtypes"), nlohmann::json::array({dtype})) << "the file holds " << ref.at("dtypes").dump();
  Loaded run{Model(config_for(tied), 1)};
  ASSERT_NO_FATAL_FAILURE(run_checkpoint(run, fixture(file)));
  check_against(run, ref);
}

TEST(HfReference, FixtureMatchesTinyPreset) {
  const nlohmann::json& c = expected().at("config");
  const ModelConfig t = model_preset("tiny");
  EXPECT_EQ(c.at("vocab_size").get<int>(), t.vocab_size);
  EXPECT_EQ(c.at("dim").get<int>(), t.dim);
  EXPECT_EQ(c.at("n_layers").get<int>(), t.n_layers);
  EXPECT_EQ(c.at("n_heads").get<int>(), t.n_heads);
  EXPECT_EQ(c.at("n_kv_heads").get<int>(), t.n_kv_heads);
  EXPECT_EQ(c.at("ffn_dim").get<int>(), t.ffn_dim);
  EXPECT_EQ(c.at("max_seq_len").get<int>(), t.max_seq_len);
  EXPECT_DOUBLE_EQ(c.at("norm_eps").get<double>(), t.norm_eps);
  EXPECT_DOUBLE_EQ(c.at("rope_theta").get<double>(), t.rope_theta);
  EXPECT_TRUE(t.tied_embeddings);  // the tied checkpoint is loaded with the preset as it is
  // The fixture's losses hold real information: every reference is well away from ln(vocab) (uniform output),
  // and the BF16 file's reference differs from the F32 one by far more than the tolerance.
  const nlohmann::json& ck = expected().at("checkpoints");
  for (const auto& [name, ref] : ck.items())
    EXPECT_GT(std::abs(ref.at("loss").get<double>() - std::log(512.0)), 0.1) << name;
  const double f32 = ck.at("llama_tiny_f32.safetensors").at("loss").get<double>();
  const double bf16 = ck.at("llama_tiny_bf16.safetensors").at("loss").get<double>();
  EXPECT_GT(std::abs(f32 - bf16), 10 * kLossRelTol * f32);
}

TEST(HfReference, F32CheckpointGivesTransformersLoss) { check_checkpoint("llama_tiny_f32.safetensors", false, "F32"); }

TEST(HfReference, Bf16CheckpointGivesTransformersUpcastLoss) {
  check_checkpoint("llama_tiny_bf16.safetensors", false, "BF16");
}

// transformers writes no lm_head.weight for a tied model; the tiny preset (tied) loads the file as it is.
TEST(HfReference, TiedBf16CheckpointGivesTransformersUpcastLoss) {
  const nlohmann::json& ref = expected().at("checkpoints").at("llama_tiny_tied_bf16.safetensors");
  const nlohmann::json& names = ref.at("tensors");
  EXPECT_EQ(std::count(names.begin(), names.end(), "lm_head.weight"), 0);
  check_checkpoint("llama_tiny_tied_bf16.safetensors", true, "BF16");
}

// The same weights must also give the same loss through a save in the engine's own F32 format.
TEST(HfReference, F32CheckpointSurvivesEngineSaveAndLoad) {
  Loaded run{Model(config_for(false), 1)};
  ASSERT_NO_FATAL_FAILURE(run_checkpoint(run, fixture("llama_tiny_f32.safetensors")));
  const std::string path = ::testing::TempDir() + "awsdt_hf_reference_resaved.safetensors";
  save_safetensors(run.model, path);
  Loaded again{Model(config_for(false), 2)};
  ASSERT_NO_FATAL_FAILURE(run_checkpoint(again, path));
  std::remove(path.c_str());
  EXPECT_EQ(run.loss, again.loss);
}

}  // namespace
}  // namespace awsdt::nn
