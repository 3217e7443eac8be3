// awsdt-fsdp end to end (single process): the loss falls on learnable data, a seed reproduces its losses bit
// for bit, the step line and result document have their documented shape, and bad input is one line, exit 2.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::Outcome;
using awsdt::testing::run_command;

namespace {

const std::string kExe = awsdt::testing::built_executable("awsdt-fsdp");

std::string temp_path(const std::string& name) { return awsdt::testing::temp_path("fsdp", name); }
using awsdt::testing::read_json;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Runs awsdt-fsdp with args, expects exit 2 and exactly one line containing `expect`.
void expect_usage_error(const std::string& args, const std::string& expect) {
  const Outcome o = run_command(kExe + " " + args, 60);
  EXPECT_EQ(o.status, 2) << args << "\n" << o.output;
  const std::string out = trim(o.output);
  EXPECT_EQ(out.find('\n'), std::string::npos) << "more than one line for " << args << ":\n" << out;
  EXPECT_NE(out.find(expect), std::string::npos) << args << ":\n" << out;
}

TEST(Fsdp, LossFallsOnPatternData) {
  const std::string json = temp_path("pattern.json");
  const Outcome o = run_command(kExe +
                                    " --model tiny --threads 1 --synthetic pattern --steps 100 --lr 3e-3"
                                    " --warmup-steps 10 --log-every 10 --output " +
                                    json,
                                180);
  ASSERT_EQ(o.status, 0) << o.output;
  const auto doc = read_json(json);
  ASSERT_EQ(doc["rows"].size(), 100u);
  const double first = doc["rows"][0]["loss"], last = doc["summary"]["final_loss"];
  EXPECT_NEAR(first, std::log(512.0), 0.5);  // starts near ln(vocab)
  EXPECT_LT(last, 0.05) << o.output;
  for (const char* key : {"median_tokens_per_s", "median_tokens_per_s_per_device", "median_tflops_per_device",
                          "median_mfu", "peak_rss_bytes", "sgemm_peak_tflops"})
    EXPECT_TRUE(doc["summary"].contains(key)) << key;
  // MFU's peak is the calibration's median, and the summary says so (one lucky run no longer sets it).
  EXPECT_EQ(doc["summary"]["peak_source"], "sgemm calibration median");
  EXPECT_NE(o.output.find("sgemm peak TFLOP/s: "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("(sgemm calibration median)"), std::string::npos) << o.output;
  for (const char* key :
       {"loss", "grad_norm", "lr", "step_ms", "tokens_per_s", "tokens_per_s_per_device", "tflops_per_device"})
    EXPECT_TRUE(doc["rows"][5].contains(key)) << key;
  EXPECT_EQ(doc["benchmark"], "fsdp");
  ASSERT_FALSE(doc["checks"].empty());
  EXPECT_TRUE(doc["checks"][0]["passed"].get<bool>());

  // Logged steps: 1, 10, 20, ..., 100, each in the documented format.
  static const std::regex line(
      R"(^step (\d+)/100 \| Loss: [0-9.]+ \| grad norm: [0-9.]+ \| lr: [0-9.e+-]+ \| step time: [0-9.]+ ms \| )"
      R"(tokens/s: [0-9.]+ \| tokens/s/device: [0-9.]+ \| TFLOP/s/device: [0-9.]+ \| MFU: [0-9.]+%$)");
  std::istringstream in(o.output);
  std::string l;
  int lines = 0;
  while (std::getline(in, l)) {
    if (l.rfind("step ", 0) != 0) continue;
    EXPECT_TRUE(std::regex_match(l, line)) << l;
    ++lines;
  }
  EXPECT_EQ(lines, 11);
  std::filesystem::remove(json);
}

TEST(Fsdp, SameSeedGivesIdenticalLosses) {
  auto losses = [](const std::string& extra) {
    const std::string json = temp_path("seed.json");
    const Outcome o = run_command(kExe +
                                      " --model tiny --threads 1 --steps 4 --micro-batch-size 2 "
                                      "--global-batch-size 4 --output " +
                                      json + " " + extra,
                                  120);
    EXPECT_EQ(o.status, 0) << o.output;
    std::vector<double> v;
    const auto doc = read_json(json);
    for (const auto& row : doc["rows"]) {
      v.push_back(row["loss"]);
      v.push_back(row["grad_norm"]);
    }
    std::filesystem::remove(json);
    return v;
  };
  const auto a = losses("--seed 7"), b = losses("--seed 7"), c = losses("--seed 8");
  ASSERT_EQ(a.size(), 8u);
  EXPECT_EQ(a, b);  // bit for bit
  EXPECT_NE(a, c);
}

TEST(Fsdp, TrainsFromATokenFile) {
  const std::string data = temp_path("tokens.bin");
  {
    std::ofstream out(data, std::ios::binary);
    for (int i = 0; i < 4096; ++i) {
      const std::uint16_t id = static_cast<std::uint16_t>((i * 31) % 512);
      out.write(reinterpret_cast<const char*>(&id), 2);
    }
  }
  const Outcome ok = run_command(kExe + " --model tiny --threads 1 --steps 2 --data " + data, 60);
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("Loss:"), std::string::npos);
  // 4096 tokens cannot hold one micro-batch of 64 x 64 + 1.
  expect_usage_error("--model tiny --micro-batch-size 64 --data " + data, "holds 4096 uint16 tokens");
  expect_usage_error("--model tiny --data " + data + ".missing", ".missing");
  std::filesystem::remove(data);
}

TEST(Fsdp, PrintConfigDescribesTheRunAndExits) {
  const Outcome o = run_command(kExe + " --model small --print-config", 30);
  EXPECT_EQ(o.status, 0) << o.output;
  // No GPU here: --device auto picks the CPU engine; sharding defaults to full (ZeRO-3).
  for (const char* s : {"parameters", "FLOPs/token", "memory estimate", "AdamW", "cpu (fp32 engine) | sharding full"})
    EXPECT_NE(o.output.find(s), std::string::npos) << s << "\n" << o.output;
  EXPECT_EQ(o.output.find("Loss:"), std::string::npos);
}

TEST(Fsdp, BadInputIsOneLineAndExitTwo) {
  expect_usage_error("--model nosuchmodel", "unknown model preset 'nosuchmodel'");
  expect_usage_error("--model tiny --n-heads 3", "must divide dim");
  expect_usage_error("--model tiny --micro-batch-size 4 --global-batch-size 6", "not divisible");
  expect_usage_error("--model tiny --device tpu", "tpu");
  expect_usage_error("--model tiny --device cuda --op-breakdown", "--op-breakdown need --device cpu");
  expect_usage_error("--model tiny --sharding zero3", "'zero3'");
  expect_usage_error("--model tiny --lr-schedule step", "unknown learning-rate schedule");
  expect_usage_error("--model tiny --seq-len 65", "exceeds");
  expect_usage_error("--model tiny --no-such-flag", "no-such-flag");
  expect_usage_error("--model tiny --param-dtype fp16", "--param-dtype must be auto, fp32 or bf16 (got 'fp16')");
  expect_usage_error("--model tiny --reduce-dtype auto", "--reduce-dtype must be fp32 or bf16 (got 'auto')");
  expect_usage_error("--model tiny --reduce-dtype f16", "--reduce-dtype must be fp32 or bf16 (got 'f16')");
  expect_usage_error("--model tiny --checkpoint-every 5", "--checkpoint-every needs --checkpoint-dir");
  expect_usage_error("--model tiny --init-from /nonexistent.safetensors", "/nonexistent.safetensors");
}

}  // namespace
