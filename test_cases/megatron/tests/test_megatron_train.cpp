// awsdt-megatron train under mpirun: tensor parallelism (TP 2, 4; key/value heads split and replicated), sequence
// parallelism, TP x DP with DDP and the distributed optimizer reproduce awsdt-fsdp's one-rank run of the same
// global batch (a separate model: nn::Model) over 20 steps: losses, and the consolidated weights by relative L2,
// within 1e-5, also with --tp-comm-overlap and with --recompute (which keeps fewer activation bytes). Also: an odd TP
// refused in one line, Megatron's iteration line, the exported safetensors file, preemption and resume at the same TP x
// DP, a checkpoint of another TP refused, a dead rank ending every rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "awsdt/config.hpp"
#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::mpirun;
using awsdt::testing::Outcome;
using awsdt::testing::read_json;
using awsdt::testing::run_command;

namespace {

const std::string kMegatron = awsdt::testing::built_executable("awsdt-megatron") + " train";
const std::string kFsdp = awsdt::testing::built_executable("awsdt-fsdp");
// Two micro-batches of 2 sequences per step at DP 2, four at DP 1: the same global batch of 8 sequences.
const std::string kCommon =
    " --threads 1 --micro-batch-size 2 --global-batch-size 8 --seq-len 32 --steps 20 --log-every 20 --calibrate-n 32";
const std::string kTiny = " --model tiny";  // 4 heads, 2 key/value heads
// A GQA preset (small: 8 heads, 4 key/value heads), made cheap by overrides that keep its heads.
const std::string kGqa = " --model small --n-layers 2 --dim 128 --ffn-dim 256 --vocab-size 1024";

std::string temp_path(const std::string& name) { return awsdt::testing::temp_path("megatron_train", name); }

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

struct RunResult {
  std::vector<double> losses;
  std::vector<float> params;
  std::string output;
  std::int64_t activation_bytes = 0;  // the summary's per_rank_activation_bytes
};

RunResult run(const std::string& exe, int np, const std::string& args, const std::string& tag) {
  const std::string json = temp_path(tag + ".json"), dump = temp_path(tag + ".bin");
  const std::string launch = np == 1 ? exe : mpirun(np) + exe;
  const Outcome o = run_command(launch + kCommon + args + " --output " + json + " --dump-params " + dump, 240);
  EXPECT_EQ(o.status, 0) << launch << args << "\n" << o.output;
  RunResult r;
  r.output = o.output;
  if (o.status != 0) return r;
  const nlohmann::json doc = read_json(json);
  for (const auto& row : doc["rows"]) r.losses.push_back(row["loss"].get<double>());
  r.activation_bytes = doc["summary"].value("per_rank_activation_bytes", std::int64_t{0});
  r.params = read_floats(dump);
  std::filesystem::remove(json);
  std::filesystem::remove(dump);
  return r;
}

// awsdt-fsdp on one rank: the model whole (nn::Model), no tensor parallelism anywhere.
const RunResult& reference(const std::string& model) {
  static std::map<std::string, RunResult> cache;
  auto it = cache.find(model);
  if (it == cache.end()) it = cache.emplace(model, run(kFsdp, 1, model, "reference")).first;
  return it->second;
}

// Every equivalent run by its tag, without its weights: what a later test compares a figure with.
std::map<std::string, RunResult>& equivalent_runs() {
  static std::map<std::string, RunResult> runs;
  return runs;
}

void expect_equivalent(const std::string& model, int np, const std::string& args, const std::string& tag) {
  const RunResult& ref = reference(model);
  RunResult& r = equivalent_runs()[tag] = run(kMegatron, np, model + args, tag);
  ASSERT_EQ(r.losses.size(), 20u) << r.output;
  ASSERT_EQ(ref.losses.size(), 20u);
  for (std::size_t i = 0; i < r.losses.size(); ++i)
    EXPECT_NEAR(r.losses[i], ref.losses[i], 1e-5 * std::abs(ref.losses[i])) << tag << " step " << i + 1;
  ASSERT_EQ(r.params.size(), ref.params.size()) << tag;
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < r.params.size(); ++i) {
    const double d = static_cast<double>(r.params[i]) - ref.params[i];
    diff += d * d;
    norm += static_cast<double>(ref.params[i]) * ref.params[i];
  }
  EXPECT_LT(std::sqrt(diff / norm), 1e-5) << tag;
  EXPECT_GT(ref.losses.front() - ref.losses.back(), 0.0) << "the reference must learn something";
  r.params.clear();
}

// The run of `tag` (equivalent to the reference), run now unless an earlier test did.
const RunResult& equivalent_run(const std::string& model, int np, const std::string& args, const std::string& tag) {
  if (!equivalent_runs().contains(tag)) expect_equivalent(model, np, args, tag);
  return equivalent_runs()[tag];
}

// --recompute (activation recomputation per block, as awsdt-fsdp's): the same losses and weights, the recomputed
// forward's collectives rerun (all-gathers and the o_proj reduce-scatter with SP; through TpGemm's ring with
// overlap), and fewer activation bytes kept than the same run without it.
void expect_recompute_equivalent(const std::string& model, int np, const std::string& args, const std::string& tag) {
  const RunResult& keep = equivalent_run(model, np, args, tag);
  expect_equivalent(model, np, args + " --recompute", tag + "_recompute");
  const RunResult& recompute = equivalent_runs()[tag + "_recompute"];
  ASSERT_GT(keep.activation_bytes, 0) << keep.output;
  EXPECT_LT(recompute.activation_bytes, keep.activation_bytes * 7 / 10)
      << "keep " << keep.activation_bytes << " B, recompute " << recompute.activation_bytes << " B";
  EXPECT_NE(recompute.output.find("(recompute)"), std::string::npos) << recompute.output;
}

TEST(MegatronTrain, Tp1EqualsFsdp) { expect_equivalent(kTiny, 1, " --tp 1", "tp1"); }
TEST(MegatronTrain, Tp2) { expect_equivalent(kTiny, 2, " --tp 2", "tp2"); }
TEST(MegatronTrain, Tp4ReplicatesKvHeads) { expect_equivalent(kTiny, 4, " --tp 4", "tp4"); }
TEST(MegatronTrain, Tp2SequenceParallel) { expect_equivalent(kTiny, 2, " --tp 2 --sequence-parallel", "tp2sp"); }
TEST(MegatronTrain, Tp4SequenceParallel) { expect_equivalent(kTiny, 4, " --tp 4 --sequence-parallel", "tp4sp"); }
TEST(MegatronTrain, Tp2Dp2Ddp) { expect_equivalent(kTiny, 4, " --tp 2", "tp2dp2"); }
TEST(MegatronTrain, Tp2Dp2DistributedOptimizer) {
  expect_equivalent(kTiny, 4, " --tp 2 --sequence-parallel --use-distributed-optimizer", "tp2dp2zero");
}
TEST(MegatronTrain, Tp2Dp2DistributedOptimizerNoOverlap) {
  expect_equivalent(kTiny, 4, " --tp 2 --use-distributed-optimizer --no-overlap", "tp2dp2zero_serial");
}
TEST(MegatronTrain, GqaTp2) { expect_equivalent(kGqa, 2, " --tp 2", "gqa_tp2"); }
TEST(MegatronTrain, GqaTp4SequenceParallel) { expect_equivalent(kGqa, 4, " --tp 4 --sequence-parallel", "gqa_tp4sp"); }
TEST(MegatronTrain, GqaTp2Dp2DistributedOptimizer) {
  expect_equivalent(kGqa, 4, " --tp 2 --sequence-parallel --use-distributed-optimizer", "gqa_tp2dp2zero");
}

TEST(MegatronTrain, Tp2SequenceParallelRecompute) {
  expect_recompute_equivalent(kTiny, 2, " --tp 2 --sequence-parallel", "tp2sp");
}

// --tp-comm-overlap: the same losses and weights through TpGemm's kernels (ring and pipelined; with SP the
// all-gather + GEMM and GEMM + reduce-scatter patterns, without it GEMM + all-reduce).
TEST(MegatronTrain, Tp2SequenceParallelOverlapRing) {
  expect_equivalent(kTiny, 2, " --tp 2 --sequence-parallel --tp-comm-overlap", "tp2sp_ring");
}
TEST(MegatronTrain, Tp4SequenceParallelOverlapPipelinedReplicatesKvHeads) {
  expect_equivalent(kTiny, 4,
                    " --tp 4 --sequence-parallel --tp-comm-overlap --tp-comm-overlap-method pipelined "
                    "--tp-comm-overlap-chunks 3",
                    "tp4sp_pipelined");
}
TEST(MegatronTrain, Tp2OverlapRingAllReduce) {
  expect_equivalent(kTiny, 2, " --tp 2 --tp-comm-overlap", "tp2_ring_ar");
}
TEST(MegatronTrain, Tp2Dp2OverlapPipelinedAllReduce) {
  expect_equivalent(kTiny, 4, " --tp 2 --tp-comm-overlap --tp-comm-overlap-method pipelined", "tp2dp2_ar");
}
TEST(MegatronTrain, Tp2Dp2SequenceParallelOverlapDistributedOptimizer) {
  expect_equivalent(kGqa, 4, " --tp 2 --sequence-parallel --tp-comm-overlap --use-distributed-optimizer",
                    "gqa_tp2dp2_overlap");
}
TEST(MegatronTrain, GqaTp2Dp2SequenceParallelOverlapDistributedOptimizerRecompute) {
  expect_recompute_equivalent(kGqa, 4, " --tp 2 --sequence-parallel --tp-comm-overlap --use-distributed-optimizer",
                              "gqa_tp2dp2_overlap");
}
TEST(MegatronTrain, BadOverlapMethodIsRefusedInOneLine) {
  const Outcome o = run_command(kMegatron + kTiny +
                                    " --tp 2 --tp-comm-overlap --tp-comm-overlap-method bulk "
                                    "--check-args 2",
                                30);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("--tp-comm-overlap-method 'bulk' is not ring, pipelined or serial"), std::string::npos)
      << o.output;
  EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
}

// What the CUDA model does not do yet is refused in one line by --check-args (what `awsdt run` asks before
// submitting), whether or not this machine has a GPU; a build without CUDA refuses --device cuda itself.
void expect_cuda_refusal(const std::string& args, const std::string& reason) {
  const Outcome o = run_command(kMegatron + args, 30);
  EXPECT_EQ(o.status, 2) << args << "\n" << o.output;
  const std::string want = AWSDT_HAVE_CUDA ? reason : "this build of awsdt has no CUDA";
  EXPECT_NE(o.output.find(want), std::string::npos) << args << "\n" << o.output;
  EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << args << "\n" << o.output;
}

TEST(MegatronTrain, CudaRefusalsAreOneLine) {
  expect_cuda_refusal(kTiny + " --device cuda --tp 2 --sequence-parallel --tp-comm-overlap --check-args 2",
                      "--tp-comm-overlap runs on CPUs only for now");
}

// With CUDA, the flags of GPU runs check out: TP 2 with SP, and TP 4 with tiny's 2 key/value heads replicated (the
// runs themselves are tools/gpu-check.sh's).
TEST(MegatronTrain, CudaTensorParallelChecksOut) {
  if (!AWSDT_HAVE_CUDA) GTEST_SKIP() << "a build without CUDA refuses --device cuda (CudaRefusalsAreOneLine)";
  for (const std::string args : {" --tp 2 --sequence-parallel --check-args 2", " --tp 4 --check-args 4"}) {
    const Outcome o = run_command(kMegatron + kTiny + " --device cuda" + args, 30);
    EXPECT_EQ(o.status, 0) << args << "\n" << o.output;
  }
}

// A TP that does not divide the heads: one line, exit 2, before anything starts.
TEST(MegatronTrain, OddTpIsRefusedInOneLine) {
  const Outcome o = run_command(kMegatron + kTiny + " --tp 3 --check-args 3", 30);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("--tp 3 does not divide the model's attention heads (4)"), std::string::npos) << o.output;
  EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
}

// Rank 0 prints Megatron-LM's iteration line (its parsers' regexes) and awsdt's Loss: line.
TEST(MegatronTrain, PrintsMegatronsIterationLine) {
  const RunResult r = run(kMegatron, 2, kTiny + " --tp 2", "line");
  const std::regex megatron(
      R"( \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] iteration +20/ +20 \| consumed samples: +160 \| elapsed time per )"
      R"(iteration \(ms\): \d+\.\d \| throughput per GPU \(TFLOP/s/GPU\): \d+\.\d \| learning rate: \d\.\d{6}E[-+]\d\d )"
      R"(\| global batch size: +8 \| lm loss: \d\.\d{6}E\+00 \| grad norm: \d+\.\d{3} \| number of skipped )"
      R"(iterations: +0 \| number of nan iterations: +0 \|)");
  EXPECT_TRUE(std::regex_search(r.output, megatron)) << r.output;
  EXPECT_NE(r.output.find("step 20/20 | Loss: "), std::string::npos) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(tp comm 20/20 \| exposed TP comm: \d+\.\d\d ms)"))) << r.output;
  EXPECT_NE(r.output.find("(2 TP rank(s), blocking collectives)"), std::string::npos) << r.output;
}

// The documented overlap command (docs/megatron.md) prints its exposed TP communication as overlapped.
TEST(MegatronTrain, OverlapLineNamesTheMethod) {
  const Outcome o =
      run_command(mpirun(2) + kMegatron + " --model tiny --tp 2 --sequence-parallel --tp-comm-overlap --steps 2", 120);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("tp comm: overlapped: ring"), std::string::npos) << o.output;
  EXPECT_TRUE(std::regex_search(
      o.output, std::regex(R"(tp comm 2/2 \| exposed TP comm: \d+\.\d\d ms \(2 TP rank\(s\), overlapped: ring\))")))
      << o.output;
}

// --metrics-file through the core's writer: every rank's file ({rank}) read back, with the loss rank 0 printed, the
// step, and this trainer's exposed TP communication.
TEST(MegatronTrain, MetricsFileReadsBack) {
  const std::string dir = temp_path("metrics");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const Outcome o = run_command(mpirun(2) + kMegatron + kCommon + kTiny +
                                    " --tp 2 --sequence-parallel --tp-comm-overlap --steps 3 --log-every 1 "
                                    "--metrics-file " +
                                    dir + "/megatron-{rank}.prom",
                                120);
  ASSERT_EQ(o.status, 0) << o.output;
  std::smatch printed;
  ASSERT_TRUE(std::regex_search(o.output, printed, std::regex(R"(step 3/3 \| Loss: (\d+\.\d+))"))) << o.output;
  for (int rank = 0; rank < 2; ++rank) {
    std::ifstream in(dir + "/megatron-" + std::to_string(rank) + ".prom");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto value = [&](const std::string& name) {
      std::smatch m;
      const std::regex sample("(^|\n)" + name + R"(\{benchmark="megatron",job="[^"]*",rank=")" + std::to_string(rank) +
                              R"("\} (\S+)\n)");
      EXPECT_TRUE(std::regex_search(text, m, sample)) << name << " in rank " << rank << "'s file:\n" << text;
      return m.empty() ? std::nan("") : std::stod(m[2].str());
    };
    EXPECT_EQ(value("awsdt_step"), 3.0);
    EXPECT_EQ(value("awsdt_steps"), 3.0);
    EXPECT_NEAR(value("awsdt_loss"), std::stod(printed[1].str()), 5.1e-7);  // printed with 6 decimals
    const double tp_comm = value("awsdt_tp_exposed_comm_seconds");
    EXPECT_TRUE(std::isfinite(tp_comm) && tp_comm >= 0 && tp_comm < 60) << tp_comm;
  }
  std::filesystem::remove_all(dir);
}

// --export writes one Hugging Face file of the whole model (TP slices put back together).
TEST(MegatronTrain, ExportsTheWholeModel) {
  const std::string file = temp_path("export.safetensors");
  const Outcome o = run_command(mpirun(4) + kMegatron + kCommon + kTiny + " --tp 4 --steps 2 --export " + file, 120);
  ASSERT_EQ(o.status, 0) << o.output;
  std::ifstream in(file, std::ios::binary);
  std::uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  const auto h = nlohmann::json::parse(header);
  EXPECT_EQ(h["model.embed_tokens.weight"]["shape"], nlohmann::json({512, 128}));
  EXPECT_EQ(h["model.layers.1.self_attn.k_proj.weight"]["shape"], nlohmann::json({64, 128}));
  EXPECT_EQ(h["model.layers.1.self_attn.o_proj.weight"]["shape"], nlohmann::json({128, 128}));
  EXPECT_EQ(h["model.layers.0.mlp.down_proj.weight"]["shape"], nlohmann::json({128, 384}));
  EXPECT_EQ(h["__metadata__"]["producer"], "awsdt-megatron");
  std::filesystem::remove(file);
}

// SIGTERM at step 8 (the hidden test hook raises it there): checkpoint, exit 75; the resumed run at the same
// TP x DP continues to the losses of the uninterrupted run; resuming with another TP is refused by name.
TEST(MegatronTrain, PreemptedAndResumedEqualsUninterrupted) {
  const std::string dir = temp_path("ckpt");
  std::filesystem::remove_all(dir);
  const std::string args = kCommon + kTiny + " --tp 2 --use-distributed-optimizer --checkpoint-dir " + dir;
  const RunResult whole = run(kMegatron, 4, kTiny + " --tp 2 --use-distributed-optimizer", "whole");
  const Outcome stopped = run_command(mpirun(4) + kMegatron + args + " --signal-at-step 8", 120);
  ASSERT_EQ(stopped.status, 75) << stopped.output;
  const Outcome other_tp = run_command(mpirun(4) + kMegatron + kCommon + kTiny + " --tp 4 --checkpoint-dir " + dir, 60);
  EXPECT_EQ(other_tp.status, 2) << other_tp.output;
  EXPECT_NE(other_tp.output.find("was written with --tp 2, this run has --tp 4"), std::string::npos) << other_tp.output;
  const std::string json = temp_path("resumed.json");
  const Outcome resumed = run_command(mpirun(4) + kMegatron + args + " --output " + json, 120);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  const nlohmann::json doc = read_json(json);
  const nlohmann::json& rows = doc["rows"];
  ASSERT_EQ(rows.size(), 12u);
  for (const auto& row : rows) {
    const int step = row["step"].get<int>();
    EXPECT_EQ(row["loss"].get<double>(), whole.losses[static_cast<std::size_t>(step - 1)]) << "step " << step;
  }
  std::filesystem::remove_all(dir);
}

// A rank that dies in the middle of a step ends every rank of every TP and DP group, naming it; no hang.
// Also when the TP collectives run on --tp-comm-overlap's streams.
TEST(MegatronTrain, DeadRankEndsEveryGroup) {
  for (const char* tp : {" --tp 2", " --tp 2 --sequence-parallel --tp-comm-overlap"}) {
    const Outcome o =
        run_command(mpirun(4) + kMegatron + kCommon + kTiny + tp + " --steps 50 --fail-rank 3 --fail-at-step 3", 90);
    EXPECT_NE(o.status, 0) << tp << "\n" << o.output;
    EXPECT_NE(o.status, 124) << "the job hung:\n" << o.output;
    EXPECT_NE(o.output.find("rank 3"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("dies in the middle of step 3"), std::string::npos) << o.output;
    EXPECT_LT(o.seconds, 60) << o.output;
  }
}

}  // namespace
