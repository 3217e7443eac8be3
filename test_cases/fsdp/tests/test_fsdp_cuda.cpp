// awsdt-fsdp on GPUs (label gpu; each test skips where too few GPUs are visible): the sharded engine with the
// CUDA backend against the CPU engine, the bf16 communication dtypes, the sharding modes, checkpoints, and two
// GPUs against one. The runs use the env bootstrap (RANK, WORLD_SIZE, ...), as torchrun sets it, so no MPI is
// needed. bf16 compute on the GPU and fp32 on the CPU round differently: losses are compared within a few
// percent, GPU runs against GPU runs within 1e-3 (fp64 atomics in the norm and the embedding backward make the
// GPU path non-associative, not inexact).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/gpu.hpp"
#include "support/run_command.hpp"

using awsdt::testing::Outcome;
using awsdt::testing::read_json;
using awsdt::testing::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kExe = awsdt::testing::built_executable("awsdt-fsdp");
const std::string kCommon =
    " --model tiny --micro-batch-size 2 --global-batch-size 4 --log-every 5 --lr 3e-3 --lr-schedule constant"
    " --warmup-steps 0 --synthetic pattern";

std::string temp_path(const std::string& name) { return awsdt::testing::temp_path("fsdp_cuda", name); }

std::string env(int rank, int world, int port) {
  return "env MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " RANK=" + std::to_string(rank) +
         " WORLD_SIZE=" + std::to_string(world) + " LOCAL_RANK=" + std::to_string(rank) + " ";
}

// step → loss of one run's result document; the run must succeed.
std::map<int, double> train(const std::string& flags, const std::string& name, int port = 29611) {
  const std::string out = temp_path(name + ".json");
  const Outcome o = run_command(env(0, 1, port) + kExe + kCommon + flags + " --output " + out, 600);
  EXPECT_EQ(o.status, 0) << o.output;
  std::map<int, double> losses;
  if (o.status != 0) return losses;
  for (const auto& r : read_json(out).at("rows")) losses[r.at("step").get<int>()] = r.at("loss").get<double>();
  fs::remove(out);
  return losses;
}

void expect_close(const std::map<int, double>& a, const std::map<int, double>& b, double rel, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [step, loss] : a) {
    ASSERT_TRUE(b.count(step)) << what << ": step " << step;
    EXPECT_NEAR(loss, b.at(step), rel * std::abs(b.at(step))) << what << ": step " << step;
  }
}

TEST(FsdpCuda, FollowsTheCpuEngine) {
  REQUIRE_GPU();
  const auto gpu = train(" --device cuda --steps 30", "gpu");
  const auto cpu = train(" --device cpu --threads 2 --steps 30", "cpu");
  expect_close(gpu, cpu, 0.03, "cuda vs cpu");
  // And it learns: the pattern data is predictable.
  ASSERT_FALSE(gpu.empty());
  EXPECT_LT(gpu.rbegin()->second, 0.7 * gpu.begin()->second);
}

TEST(FsdpCuda, ModeBufferPathsDtypesAndRecomputeAgreeOnOneGpu) {
  REQUIRE_GPU();
  // One GPU shards nothing: the modes differ in their buffers (gathered slots, gradients reduced from slots or
  // added in place), which must not change the numbers. Sharding itself is tested on CPUs (test_fsdp_mpi.cpp).
  // Four blocks: with two, a unit computing on another's params can hide (see test_fsdp_mpi.cpp).
  const auto full = train(" --device cuda --n-layers 4 --steps 12 --sharding full", "full");
  expect_close(train(" --device cuda --n-layers 4 --steps 12 --sharding grad_op", "grad_op"), full, 1e-3, "grad_op");
  expect_close(train(" --device cuda --n-layers 4 --steps 12 --sharding none", "none"), full, 1e-3, "none");
  expect_close(train(" --device cuda --n-layers 4 --steps 12 --recompute", "recompute"), full, 1e-3, "recompute");
  // The compute is bf16 either way, so gathering fp32 (and rounding after) changes nothing against the default
  // bf16 gather; the gradients reduced in bf16 round once more.
  expect_close(train(" --device cuda --n-layers 4 --steps 12 --param-dtype fp32", "pfp32"), full, 1e-3, "param fp32");
  expect_close(train(" --device cuda --n-layers 4 --steps 12 --param-dtype bf16 --reduce-dtype bf16", "bf16"), full,
               0.02, "param+reduce bf16");
}

TEST(FsdpCuda, CheckpointResumeContinuesTheRun) {
  REQUIRE_GPU();
  const std::string dir = temp_path("ckpt");
  const auto whole = train(" --device cuda --steps 10 --checkpoint-dir " + dir + " --checkpoint-every 5", "whole");
  fs::remove_all(dir + "/step_00000010");
  // --resume auto picks step 5 now; steps 6..10 follow the uninterrupted run.
  const auto resumed = train(" --device cuda --steps 10 --checkpoint-dir " + dir, "resumed");
  ASSERT_FALSE(resumed.empty());
  EXPECT_EQ(resumed.begin()->first, 6);
  for (const auto& [step, loss] : resumed) EXPECT_NEAR(loss, whole.at(step), 1e-3 * whole.at(step)) << step;
  fs::remove_all(dir);
}

TEST(FsdpCuda, TwoGpusShardedMatchOneGpu) {
  REQUIRE_GPU();
  if (awsdt::cuda_device_count() < 2) GTEST_SKIP() << "needs 2 GPUs";
  const auto one = train(" --device cuda --steps 10", "one");
  for (const char* mode : {"full", "grad_op", "none"}) {
    const std::string out = temp_path(std::string("two_") + mode + ".json");
    const std::string flags = kCommon + " --device cuda --steps 10 --sharding " + mode;
    // Rank 1 in the background, rank 0 in front; the command fails if either does.
    std::string command = "(";
    command += env(1, 2, 29612) + kExe + flags + " > /dev/null & ";
    command += env(0, 2, 29612) + kExe + flags + " --output " + out;
    command += "; s=$?; wait $! || s=1; exit $s)";
    const Outcome o = run_command(command, 600);
    ASSERT_EQ(o.status, 0) << mode << "\n" << o.output;
    std::map<int, double> two;
    for (const auto& r : read_json(out).at("rows")) two[r.at("step").get<int>()] = r.at("loss").get<double>();
    expect_close(two, one, 1e-2, mode);  // the same global batch; bf16 partial sums split differently
    fs::remove(out);
  }
}

// NCCL has no timeout: rank 0 would wait for a dead rank 1 forever. The step watchdog ends it, and rank 1 has
// said why it died.
TEST(FsdpCuda, ADeadRankEndsTheJobOnTwoGpus) {
  REQUIRE_GPU();
  if (awsdt::cuda_device_count() < 2) GTEST_SKIP() << "needs 2 GPUs";
  const std::string flags = kCommon + " --device cuda --steps 50 --fail-rank 1 --fail-at-step 3 --step-timeout 20";
  std::string command = "(";
  command += env(1, 2, 29613) + kExe + flags + " & ";
  command += env(0, 2, 29613) + kExe + flags;
  command += "; s=$?; wait $! || s=1; exit $s)";
  const Outcome o = run_command(command, 120);
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung:\n" << o.output;
  EXPECT_NE(o.output.find("dies in the middle of step 3"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("did not finish within 20 s"), std::string::npos) << o.output;
}

}  // namespace
