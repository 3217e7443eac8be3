// Safetensors checkpoints: save/load round trips (identical parameters and loss), BF16 files written here by an
// independent minimal writer, the one-line errors (wrong shape or dtype, missing or unknown tensor, truncated
// file, garbage header, a tied model's differing lm_head), and files written by Python's safetensors package.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "nn/config.hpp"
#include "nn/model.hpp"
#include "nn/safetensors.hpp"
#include "util/error.hpp"

namespace awsdt::nn {
namespace {

// A small untied model with grouped-query attention (tiny is tied).
ModelConfig untied_config() { return ModelConfig{64, 32, 2, 4, 2, 48, 16, 1e-5, 10000.0, false}; }

std::string temp_path(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("awsdt_test_safetensors_" + tag + "_" + std::to_string(::getpid()) + ".safetensors"))
      .string();
}

// ---------------------------------------------------------------------------------------------------------------
// An independent minimal safetensors writer (string-built JSON, no code under test).

struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::string bytes;  // little-endian data
};

void write_raw(const std::string& path, const std::vector<RawTensor>& tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::uint64_t offset = 0;
  for (const RawTensor& t : tensors) {
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i) header += ",";
      header += std::to_string(t.shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.bytes.size()) + "]}";
    offset += t.bytes.size();
  }
  header += "}";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((std::uint64_t(header.size()) >> (8 * i)) & 0xff));
  out << header;
  for (const RawTensor& t : tensors) out << t.bytes;
}

// Round to nearest even (no NaN in the inputs), written out here rather than taken from util/half.hpp.
std::uint16_t to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

float from_bf16(std::uint16_t h) {
  const std::uint32_t u = std::uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Every tensor of model as F32 or BF16, in layout order; vectors as 1-D, matrices as [rows, cols].
std::vector<RawTensor> raw_tensors(const Model& model, bool bf16) {
  std::vector<RawTensor> out;
  for (const ParamUnit& unit : model.units()) {
    for (const TensorSlot& slot : unit.layout.tensors) {
      RawTensor t{slot.name, bf16 ? "BF16" : "F32", {}, {}};
      t.shape = slot.cols == 1 ? std::vector<std::uint64_t>{std::uint64_t(slot.rows)}
                               : std::vector<std::uint64_t>{std::uint64_t(slot.rows), std::uint64_t(slot.cols)};
      const float* p = unit.params.data() + slot.offset;
      for (std::size_t i = 0; i < slot.size(); ++i) {
        if (bf16) {
          const std::uint16_t h = to_bf16(p[i]);
          t.bytes.append(reinterpret_cast<const char*>(&h), 2);
        } else {
          t.bytes.append(reinterpret_cast<const char*>(&p[i]), 4);
        }
      }
      out.push_back(std::move(t));
    }
  }
  return out;
}

RawTensor* find(std::vector<RawTensor>& tensors, const std::string& name) {
  for (RawTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// The UsageError message of loading path into model ("" when it loads).
std::string load_error(Model& model, const std::string& path) {
  try {
    load_safetensors(model, path);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

bool same_params(const Model& a, const Model& b) {
  for (std::size_t u = 0; u < a.units().size(); ++u) {
    if (a.units()[u].params != b.units()[u].params) return false;
  }
  return true;
}

float fixed_batch_loss(Model& model) {
  const int B = 2, T = 8;
  std::mt19937 rng(1234);
  std::vector<std::int32_t> tokens(B * T), targets(B * T);
  for (auto& t : tokens) t = static_cast<std::int32_t>(rng() % model.config().vocab_size);
  for (auto& t : targets) t = static_cast<std::int32_t>(rng() % model.config().vocab_size);
  return model.forward(tokens.data(), targets.data(), B, T);
}

void expect_mentions(const std::string& message, const std::vector<std::string>& parts) {
  EXPECT_FALSE(message.empty()) << "expected an error";
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const std::string& p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' in: " << message;
}

// ---------------------------------------------------------------------------------------------------------------

void round_trip(const ModelConfig& config, const std::string& tag) {
  Model a(config, 1);
  Model b(config, 2);
  ASSERT_FALSE(same_params(a, b));
  const std::string path = temp_path(tag);
  save_safetensors(a, path, {{"step", "42"}});
  load_safetensors(b, path);
  EXPECT_TRUE(same_params(a, b));
  EXPECT_EQ(fixed_batch_loss(a), fixed_batch_loss(b));
  std::filesystem::remove(path);
}

TEST(Safetensors, RoundTripTiedTiny) { round_trip(model_preset("tiny"), "rt_tiny"); }

TEST(Safetensors, RoundTripUntied) { round_trip(untied_config(), "rt_untied"); }

TEST(Safetensors, SavedFileIsRealSafetensors) {
  Model a(untied_config(), 1);
  const std::string path = temp_path("layout");
  save_safetensors(a, path, {{"step", "42"}});
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(file.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[i]);
  EXPECT_EQ((8 + n) % 8, 0u) << "data should start 8-byte aligned";
  const std::string header = file.substr(8, n);
  EXPECT_NE(header.find("\"format\":\"pt\""), std::string::npos) << header;
  EXPECT_NE(header.find("\"step\":\"42\""), std::string::npos) << header;
  EXPECT_NE(header.find("\"lm_head.weight\":{\"data_offsets\""), std::string::npos) << header;
  EXPECT_NE(header.find("\"model.layers.1.input_layernorm.weight\":{\"data_offsets\":["), std::string::npos);
  // The data region holds exactly every parameter, and embed_tokens (first in layout order) starts it.
  std::size_t params = 0;
  for (const ParamUnit& u : a.units()) params += u.params.size();
  EXPECT_EQ(file.size() - 8 - n, params * 4);
  EXPECT_EQ(std::memcmp(file.data() + 8 + n, a.units()[0].params.data(), 64), 0);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
  std::filesystem::remove(path);
}

TEST(Safetensors, TiedModelWritesNoLmHead) {
  Model a(model_preset("tiny"), 1);
  const std::string path = temp_path("tied_head");
  save_safetensors(a, path);
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file.find("lm_head.weight"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(Safetensors, Bf16LoadsRoundedValuesAndIgnoresInvFreq) {
  Model a(untied_config(), 1);
  // Hand-checked ties: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 (even: 1); 1 + 3·2^-8 is halfway between
  // 1 + 2^-7 and 1 + 2^-6 (even: 1 + 2^-6). 1 + 2^-7 is exact.
  a.units()[0].params[0] = 1.00390625f;
  a.units()[0].params[1] = 1.01171875f;
  a.units()[0].params[2] = 1.0078125f;
  auto tensors = raw_tensors(a, /*bf16=*/true);
  tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", "F32", {4}, std::string(16, '\0')});
  tensors.push_back({"model.layers.1.self_attn.rotary_emb.inv_freq", "F32", {4}, std::string(16, '\0')});
  const std::string path = temp_path("bf16");
  write_raw(path, tensors);

  Model b(untied_config(), 2);
  load_safetensors(b, path);
  EXPECT_EQ(b.units()[0].params[0], 1.0f);
  EXPECT_EQ(b.units()[0].params[1], 1.015625f);
  EXPECT_EQ(b.units()[0].params[2], 1.0078125f);
  std::size_t rounded = 0;
  for (std::size_t u = 0; u < a.units().size(); ++u) {
    const auto& pa = a.units()[u].params;
    const auto& pb = b.units()[u].params;
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
      ASSERT_EQ(pb[i], from_bf16(to_bf16(pa[i]))) << a.units()[u].layout.name << " element " << i;
      rounded += pb[i] != pa[i];
    }
  }
  EXPECT_GT(rounded, 0u) << "random fp32 parameters should not all be representable in bf16";
  std::filesystem::remove(path);
}

TEST(Safetensors, MixedF32AndBf16) {
  Model a(untied_config(), 1);
  auto tensors = raw_tensors(a, /*bf16=*/false);
  const auto bf = raw_tensors(a, /*bf16=*/true);
  for (std::size_t i = 0; i < tensors.size(); i += 2) tensors[i] = bf[i];
  const std::string path = temp_path("mixed");
  write_raw(path, tensors);
  Model b(untied_config(), 2);
  load_safetensors(b, path);
  // Even-numbered tensors are BF16: 0 = embed_tokens, 2 = layer 0's q_proj; 3 = its k_proj is F32.
  EXPECT_EQ(b.units()[0].params[5], from_bf16(to_bf16(a.units()[0].params[5])));
  const auto& q_a = a.units()[1].params;
  const auto& q_b = b.units()[1].params;
  const std::size_t q0 = a.units()[1].layout.tensors[1].offset;  // q_proj: tensor index 2 overall, BF16
  const std::size_t k0 = a.units()[1].layout.tensors[2].offset;  // k_proj: tensor index 3 overall, F32
  EXPECT_EQ(q_b[q0], from_bf16(to_bf16(q_a[q0])));
  EXPECT_EQ(q_b[k0], q_a[k0]);
  std::filesystem::remove(path);
}

TEST(Safetensors, TiedLmHeadEqualIsAcceptedDifferentIsRejected) {
  const ModelConfig tiny = model_preset("tiny");
  Model a(tiny, 1);
  auto tensors = raw_tensors(a, false);
  RawTensor head = *find(tensors, "model.embed_tokens.weight");
  head.name = "lm_head.weight";
  tensors.push_back(head);
  const std::string path = temp_path("tied_equal");
  write_raw(path, tensors);
  Model b(tiny, 2);
  EXPECT_EQ(load_error(b, path), "");
  EXPECT_TRUE(same_params(a, b));

  tensors.back().bytes[0] ^= 0x01;
  write_raw(path, tensors);
  Model c(tiny, 3);
  Model c0(tiny, 3);
  expect_mentions(load_error(c, path), {path, "lm_head.weight", "model.embed_tokens.weight"});
  EXPECT_TRUE(same_params(c, c0)) << "a rejected file must leave the model unchanged";
  std::filesystem::remove(path);
}

// ---------------------------------------------------------------------------------------------------------------
// Errors: one line naming the file, the tensor, what was found and what was expected; the model unchanged.

class SafetensorsError : public ::testing::Test {
 protected:
  void expect_error(const std::vector<RawTensor>& tensors, const std::vector<std::string>& parts) {
    write_raw(path_, tensors);
    expect_file_error(parts);
  }
  void expect_file_error(std::vector<std::string> parts) {
    Model b(untied_config(), 2);
    parts.insert(parts.begin(), path_);
    expect_mentions(load_error(b, path_), parts);
    EXPECT_TRUE(same_params(b, before_)) << "a rejected file must leave the model unchanged";
  }
  void TearDown() override { std::filesystem::remove(path_); }

  Model a_{untied_config(), 1};
  Model before_{untied_config(), 2};
  std::vector<RawTensor> tensors_ = raw_tensors(a_, false);
  std::string path_ = temp_path("error");
};

TEST_F(SafetensorsError, WrongShape) {
  RawTensor* k = find(tensors_, "model.layers.1.self_attn.k_proj.weight");
  k->shape = {32, 16};  // transposed: expected [kv_dim 16, dim 32]
  expect_error(tensors_, {"model.layers.1.self_attn.k_proj.weight", "found shape [32, 16]", "expected [16, 32]"});
}

TEST_F(SafetensorsError, NormAsMatrixIsWrongShape) {
  find(tensors_, "model.norm.weight")->shape = {32, 1};
  expect_error(tensors_, {"model.norm.weight", "found shape [32, 1]", "expected [32]"});
}

TEST_F(SafetensorsError, WrongDtypeF16) {
  RawTensor* t = find(tensors_, "model.layers.0.mlp.up_proj.weight");
  t->dtype = "F16";
  t->bytes.resize(t->bytes.size() / 2);
  expect_error(tensors_, {"model.layers.0.mlp.up_proj.weight", "found dtype F16", "expected F32 or BF16"});
}

TEST_F(SafetensorsError, WrongDtypeI64) {
  RawTensor* t = find(tensors_, "model.norm.weight");
  t->dtype = "I64";
  t->bytes += t->bytes;
  expect_error(tensors_, {"model.norm.weight", "found dtype I64", "expected F32 or BF16"});
}

TEST_F(SafetensorsError, MissingTensor) {
  const std::string name = tensors_[12].name;  // layer 1's k_proj
  tensors_.erase(tensors_.begin() + 12);
  expect_error(tensors_, {"missing tensor", name, "expected shape"});
}

TEST_F(SafetensorsError, MissingLmHeadOfUntiedModel) {
  tensors_.pop_back();
  expect_error(tensors_, {"missing tensor 'lm_head.weight'", "[64, 32]"});
}

TEST_F(SafetensorsError, UnknownTensor) {
  tensors_.push_back({"model.layers.2.input_layernorm.weight", "F32", {32}, std::string(128, '\0')});
  expect_error(tensors_, {"unexpected tensor 'model.layers.2.input_layernorm.weight'", "2 layers"});
}

TEST_F(SafetensorsError, ByteCountDisagreesWithShape) {
  RawTensor* t = find(tensors_, "model.layers.0.self_attn.o_proj.weight");
  t->bytes.resize(t->bytes.size() - 4);
  expect_error(tensors_, {"model.layers.0.self_attn.o_proj.weight", "expected 4096"});
}

TEST_F(SafetensorsError, TruncatedFile) {
  save_safetensors(a_, path_);
  std::filesystem::resize_file(path_, std::filesystem::file_size(path_) - 10);
  // lm_head.weight is the last tensor in the data, so it is the one cut short.
  expect_file_error({"truncated", "lm_head.weight"});
}

TEST_F(SafetensorsError, TruncatedInsideHeader) {
  save_safetensors(a_, path_);
  std::filesystem::resize_file(path_, 100);
  expect_file_error({"truncated", "header length"});
}

TEST_F(SafetensorsError, ShorterThanHeaderLength) {
  std::ofstream(path_, std::ios::binary) << "abc";
  expect_file_error({"truncated", "3 bytes"});
}

TEST_F(SafetensorsError, GarbageHeader) {
  std::string header = "this is not json {";
  std::ofstream out(path_, std::ios::binary);
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((std::uint64_t(header.size()) >> (8 * i)) & 0xff));
  out << header;
  out.close();
  expect_file_error({"not a safetensors file", "not a JSON object"});
}

TEST_F(SafetensorsError, HugeHeaderLength) {
  std::ofstream(path_, std::ios::binary) << "\xff\xff\xff\xff\xff\xff\xff\x7f{}";
  expect_file_error({"not a safetensors file", "header length"});
}

TEST_F(SafetensorsError, MissingFile) {
  path_ += ".does_not_exist";
  expect_file_error({"cannot read"});
}

// ---------------------------------------------------------------------------------------------------------------
// Interoperability with Python's safetensors package, when this machine has it.

TEST(Safetensors, FileWrittenByPythonSafetensors) {
  if (std::system("python3 -c 'import safetensors, numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 with the safetensors and numpy packages is not available";
  }
  Model a(untied_config(), 1);
  const std::string ours = temp_path("py_in"), theirs = temp_path("py_out"), script = temp_path("py_script");
  save_safetensors(a, ours);
  std::ofstream(script) << "import sys\n"
                           "import numpy as np\n"
                           "from safetensors.numpy import load_file, save_file\n"
                           "d = load_file(sys.argv[1])\n"
                           "d['model.norm.weight'] = np.arange(32, dtype=np.float32) * 0.5\n"
                           "d['model.layers.0.self_attn.rotary_emb.inv_freq'] = np.ones(4, dtype=np.float32)\n"
                           "save_file(d, sys.argv[2], metadata={'format': 'pt'})\n";
  ASSERT_EQ(std::system(("python3 " + script + " " + ours + " " + theirs).c_str()), 0);
  Model b(untied_config(), 2);
  load_safetensors(b, theirs);
  for (std::size_t u = 0; u + 1 < a.units().size(); ++u) EXPECT_EQ(a.units()[u].params, b.units()[u].params);
  const ParamUnit& head = b.units().back();
  for (int i = 0; i < 32; ++i) EXPECT_EQ(head.params[head.layout.tensors[0].offset + i], 0.5f * i);
  const std::size_t lm = head.layout.tensors[1].offset;
  for (std::size_t i = 0; i < 64 * 32; ++i) ASSERT_EQ(head.params[lm + i], a.units().back().params[lm + i]);
  for (const auto& p : {ours, theirs, script}) std::filesystem::remove(p);
}

}  // namespace
}  // namespace awsdt::nn
