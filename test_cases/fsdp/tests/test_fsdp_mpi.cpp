// awsdt-fsdp under mpirun: every sharding mode, with and without overlap, on 2, 3 and 4 ranks reproduces the
// 1-rank run of the same global batch (20-step losses and final consolidated parameters within 1e-5 relative);
// full sharding divides the per-rank state by the world size (plus padding); a rank that dies mid-step ends
// the job on every rank with a message naming it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::mpirun;
using awsdt::testing::Outcome;
using awsdt::testing::run_command;

namespace {

const std::string kExe = awsdt::testing::built_executable("awsdt-fsdp");
const std::string kCommon =
    " --model tiny --threads 1 --micro-batch-size 1 --global-batch-size 12 --log-every 20"
    " --calibrate-n 32";

std::string temp_path(const std::string& name) { return awsdt::testing::temp_path("fsdp_mpi", name); }
using awsdt::testing::read_json;

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(out.size() * sizeof(float)),
            reinterpret_cast<char*>(out.data()));
  return out;
}

// One run: its losses and final parameters.
struct RunResult {
  std::vector<double> losses;
  std::vector<double> grad_norms;  ///< before clipping: a gradient averaged wrongly over ranks shows here first
  std::vector<float> params;
  nlohmann::json summary;
  nlohmann::json config;
};

RunResult run(int np, const std::string& args, const std::string& tag, int steps = 20) {
  const std::string json = temp_path(tag + ".json"), dump = temp_path(tag + ".bin");
  const std::string launch = np == 1 ? kExe : mpirun(np) + kExe;
  const Outcome o = run_command(
      launch + kCommon + " --steps " + std::to_string(steps) + args + " --output " + json + " --dump-params " + dump,
      240);
  EXPECT_EQ(o.status, 0) << launch << args << "\n" << o.output;
  RunResult r;
  if (o.status != 0) return r;
  const auto doc = read_json(json);
  for (const auto& row : doc["rows"]) {
    r.losses.push_back(row["loss"].get<double>());
    r.grad_norms.push_back(row["grad_norm"].get<double>());
  }
  r.summary = doc["summary"];
  r.config = doc["config"];
  r.params = read_floats(dump);
  std::filesystem::remove(json);
  std::filesystem::remove(dump);
  return r;
}

const RunResult& reference() {
  static const RunResult r = run(1, "", "reference");
  return r;
}

// ‖a-b‖ / ‖b‖ (L2 over all elements).
double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    n += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(d / n);
}

// Largest |a-b| / max(|b|, floor) over the elements.
template <class A, class B>
double max_rel(const A& a, const B& b, double floor) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]) / std::max(std::abs(static_cast<double>(b[i])), floor));
  return m;
}

// norm_tol: the gradient norm's bound. 1e-5 in fp32 (the runs show about 1e-8); computing on bf16 params, an
// fp32 master weight at a bf16 rounding boundary can round the other way after a sum in another order, which
// moves the gradient computed on it by about 1e-5 of the norm (and the averaged loss a hundred times less).
void expect_equivalent(int np, const std::string& mode, bool overlap, const std::string& extra = "",
                       const RunResult& ref = reference(), double norm_tol = 1e-5) {
  ASSERT_EQ(ref.losses.size(), 20u);
  const std::string args = " --sharding " + mode + extra + (overlap ? "" : " --no-overlap");
  const RunResult r = run(np, args, mode + std::to_string(np) + (overlap ? "o" : "s") + std::to_string(extra.size()));
  ASSERT_EQ(r.losses.size(), ref.losses.size()) << args;
  ASSERT_EQ(r.params.size(), ref.params.size()) << args;
  const double loss_err = max_rel(r.losses, ref.losses, 1e-6);
  // AdamW hardly moves when every gradient is off by the same factor; the norm of the averaged gradient is.
  const double norm_err = max_rel(r.grad_norms, ref.grad_norms, 1e-6);
  // The parameters as a whole (relative L2 error): a single element whose gradient is at the level of float
  // summation noise can take a different AdamW step (m/sqrt(v) is scale-free), so the element-wise figure is
  // reported, not asserted.
  const double param_err = rel_l2(r.params, ref.params), elem_err = max_rel(r.params, ref.params, 1e-3);
  EXPECT_LE(loss_err, 1e-5) << np << " ranks" << args;
  EXPECT_LE(norm_err, norm_tol) << np << " ranks" << args;
  EXPECT_LE(param_err, 1e-5) << np << " ranks" << args;
  std::printf(
      "np %d%s: max relative loss error %.3g, grad norm error %.3g, parameter relative L2 error %.3g (max "
      "element %.3g)\n",
      np, args.c_str(), loss_err, norm_err, param_err, elem_err);
}

class Equivalence : public ::testing::TestWithParam<int> {};

TEST_P(Equivalence, EveryModeMatchesOneRank) {
  const int np = GetParam();
  for (bool overlap : {true, false}) {
    expect_equivalent(np, "full", overlap);
    expect_equivalent(np, "grad_op", overlap);
    expect_equivalent(np, "none", overlap);
    // HSDP: groups of 2 on 2 and 4 ranks (on 4: two groups, all-reduced), one group of 3 on 3.
    expect_equivalent(np, "hybrid", overlap, " --shard-group-size " + std::to_string(np == 3 ? 3 : 2));
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, Equivalence, ::testing::Values(2, 3, 4));

TEST(FsdpMpi, RecomputationMatchesOneRank) {
  for (int np : {2, 3, 4}) expect_equivalent(np, "full", true, " --recompute");
  expect_equivalent(2, "grad_op", false, " --recompute");
}

// The GPU engine's path, run on CPUs: with --emulate-gpu-compute the model takes bf16 params, as the CUDA backend
// does, so the engine gathers fp32 shards and converts them (or, with --param-dtype bf16, rounds each shard and
// gathers straight into the compute buffer). Rounding is per element, so every mode and rank count computes on
// the same bf16 params as one rank: equal within fp32 reassociation again.
TEST(FsdpMpi, GpuComputePathMatchesOneRank) {
  const std::string hook = " --emulate-gpu-compute";
  constexpr double kBf16Norm = 1e-4;  // computing on bf16 params (see expect_equivalent)
  const RunResult ref = run(1, hook, "gpu_path_reference");
  ASSERT_EQ(ref.losses.size(), 20u);
  // The hook really changes the numbers: its curve is not the fp32 one.
  EXPECT_GT(max_rel(ref.losses, reference().losses, 1e-6), 1e-5);
  for (const char* mode : {"full", "grad_op", "none"}) expect_equivalent(2, mode, true, hook, ref, kBf16Norm);
  expect_equivalent(2, "hybrid", true, hook + " --shard-group-size 2", ref, kBf16Norm);
  expect_equivalent(3, "full", false, hook, ref, kBf16Norm);
  expect_equivalent(2, "full", true, hook + " --param-dtype bf16", ref, kBf16Norm);
  expect_equivalent(4, "hybrid", true, hook + " --param-dtype bf16 --shard-group-size 2", ref, kBf16Norm);
  // Four blocks, every mode: with tiny's two, a unit computing on another unit's gathered params can pass
  // unnoticed (the head's final norm and block 0's input norm both start at ones and move slowly).
  const std::string four = hook + " --n-layers 4";
  const RunResult ref4 = run(1, four, "gpu_path_reference4");
  for (const char* mode : {"full", "grad_op", "none"}) expect_equivalent(2, mode, true, four, ref4, kBf16Norm);
  expect_equivalent(2, "none", true, " --n-layers 4 --param-dtype bf16",
                    run(1, " --n-layers 4 --param-dtype bf16", "bf16_reference4"), kBf16Norm);
}

// bf16 mixed precision (FSDP's MixedPrecision): the loss curve stays within bf16 rounding of the fp32 one, moves
// (so the cast really happens), and half the bytes travel.
TEST(FsdpMpi, Bf16CommunicationFollowsTheFp32Curve) {
  const RunResult& ref = reference();
  for (const std::string& args : {std::string(" --sharding full --param-dtype bf16 --reduce-dtype bf16"),
                                  std::string(" --sharding hybrid --shard-group-size 2 --reduce-dtype bf16"),
                                  std::string(" --sharding none --param-dtype bf16")}) {
    const int np = args.find("hybrid") != std::string::npos ? 4 : 2;
    const RunResult r = run(np, args, "bf16_" + std::to_string(np));
    ASSERT_EQ(r.losses.size(), ref.losses.size()) << args;
    const double loss_err = max_rel(r.losses, ref.losses, 1e-6), param_err = rel_l2(r.params, ref.params);
    std::printf("np %d%s: max relative loss error %.3g, parameter relative L2 error %.3g\n", np, args.c_str(), loss_err,
                param_err);
    EXPECT_LE(loss_err, 2e-3) << args;
    EXPECT_GT(loss_err, 1e-7) << args << ": no trace of bf16 rounding";
    EXPECT_LE(param_err, 5e-3) << args;
  }
  const RunResult fp32 = run(2, " --sharding full", "bytes_fp32", 1);
  const RunResult bf16 = run(2, " --sharding full --param-dtype bf16 --reduce-dtype bf16", "bytes_bf16", 1);
  EXPECT_EQ(fp32.summary["bytes_all_gathered_per_step"].get<std::int64_t>(),
            2 * bf16.summary["bytes_all_gathered_per_step"].get<std::int64_t>());
  EXPECT_EQ(fp32.summary["bytes_reduce_scattered_per_step"].get<std::int64_t>(),
            2 * bf16.summary["bytes_reduce_scattered_per_step"].get<std::int64_t>());
}

TEST(FsdpMpi, FullShardingDividesState) {
  const RunResult one = run(1, "", "mem1", 1);
  const RunResult four = run(4, " --sharding full", "mem4", 1);
  ASSERT_FALSE(one.summary.is_null());
  ASSERT_FALSE(four.summary.is_null());
  const std::int64_t s1 = one.summary["per_rank_state_bytes"], s4 = four.summary["per_rank_state_bytes"];
  const std::int64_t units = 2 + 2;  // tiny: embedding, 2 blocks, head
  EXPECT_GE(s4 * 4, s1);
  EXPECT_LE(s4, s1 / 4 + 16 * units) << "1 rank " << s1 << " bytes, 4 ranks " << s4 << " bytes";
  EXPECT_GT(four.summary["bytes_all_gathered_per_step"].get<std::int64_t>(), 0);
  EXPECT_GT(four.summary["bytes_reduce_scattered_per_step"].get<std::int64_t>(), 0);
  // The memory estimate (--print-config, the run's log) names what the engine allocates, to the byte.
  const RunResult zero2 = run(4, " --sharding grad_op --reduce-dtype bf16", "mem4op", 1);
  for (const RunResult* r : {&one, &four, &zero2}) {
    ASSERT_FALSE(r->config.is_null());
    const auto& est = r->config["memory_estimate_per_rank"];
    EXPECT_EQ(est["params"], r->summary["per_rank_param_bytes"]);
    EXPECT_EQ(est["grads"], r->summary["per_rank_grad_bytes"]);
    EXPECT_EQ(est["optimizer"], r->summary["per_rank_optimizer_bytes"]);
    EXPECT_EQ(est["gathered"], r->summary["per_rank_gathered_buffer_bytes"]);
  }
}

TEST(FsdpMpi, FullShardingRegathersEveryBlockButTheLast) {
  // grad_op gathers each unit once per micro-batch (but see below); full gathers the blocks again for the
  // backward, except the last, which stays gathered from its forward to its backward (the next one to run).
  const auto gathered = [](const RunResult& r) { return r.summary["bytes_all_gathered_per_step"].get<std::int64_t>(); };
  const std::int64_t once2 = gathered(run(2, " --sharding grad_op", "gather_once2", 1));
  const std::int64_t once4 = gathered(run(2, " --sharding grad_op --n-layers 4", "gather_once4", 1));
  const std::int64_t block = (once4 - once2) / 2;
  ASSERT_GT(block, 0);
  EXPECT_EQ(gathered(run(2, " --sharding full", "gather_full2", 1)), once2 + 1 * block);
  EXPECT_EQ(gathered(run(2, " --sharding full --n-layers 4", "gather_full4", 1)), once4 + 3 * block);

  // Between the micro-batches of a step (6 here: 12 sequences on 2 ranks), the backward's last two units, the
  // embedding and block 0, stay gathered for the next forward: against one micro-batch a step, 6 micro-batches
  // gather 6 times the units less 5 times those two.
  const std::string one = temp_path("gather_one_micro.json");
  const Outcome o = run_command(mpirun(2) + kExe +
                                    " --model tiny --threads 1 --micro-batch-size 1 --global-batch-size 2"
                                    " --steps 1 --calibrate-n 32 --sharding grad_op --output " +
                                    one,
                                120);
  ASSERT_EQ(o.status, 0) << o.output;
  const std::int64_t per_micro_batch = read_json(one)["summary"]["bytes_all_gathered_per_step"].get<std::int64_t>();
  const std::int64_t embedding = 512 * 128 * 4, block0 = block / 6;  // tiny: vocab 512 x dim 128, fp32
  EXPECT_EQ(once2, 6 * per_micro_batch - 5 * (embedding + block0));
}

TEST(FsdpMpi, DeadRankEndsTheJob) {
  const Outcome o = run_command(mpirun(3) + kExe + kCommon + " --steps 50 --fail-rank 1 --fail-at-step 3", 90);
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung:\n" << o.output;  // timeout's status
  EXPECT_NE(o.output.find("rank 1"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("dies in the middle of step 3"), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 60) << o.output;
}

// A rank that hangs (a stuck GPU, a deadlocked process: it neither dies nor answers) is caught by the step
// watchdog of the ranks waiting for it, which name themselves, the step and the timeout, and end the job.
TEST(FsdpMpi, HungRankEndsTheJobAfterTheStepTimeout) {
  const Outcome o = run_command(
      mpirun(2) + kExe + kCommon + " --steps 50 --fail-rank 1 --fail-at-step 3 --fail-hang --step-timeout 4", 90);
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung:\n" << o.output;  // timeout's status
  EXPECT_NE(o.output.find("step 3 did not finish within 4 s"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("error: rank "), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 60) << o.output;
}

// Without --threads each rank computes on its share of the CPUs it may use and says so, and the result records
// that count (OpenBLAS's default, every CPU of the machine in every rank, would differ); torchrun's
// OMP_NUM_THREADS, when set, wins.
TEST(FsdpMpi, DefaultThreadsAreEachRanksShareOfItsCpus) {
  const std::string json = temp_path("threads.json");
  const std::string args = " --model tiny --steps 2 --calibrate-n 32";
  const Outcome o = run_command(
      "env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS " + mpirun(2) + kExe + args + " --output " + json, 120);
  ASSERT_EQ(o.status, 0) << o.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(o.output, m,
                                std::regex(R"(threads: (\d+) per rank \((\d+) CPU\(s\) in this )"
                                           R"(rank's affinity mask, shared by (\d+) rank)")))
      << o.output;
  const int threads = std::stoi(m[1]), cpus = std::stoi(m[2]), sharing = std::stoi(m[3]);
  EXPECT_TRUE(sharing == 1 || sharing == 2) << o.output;
  EXPECT_EQ(threads, std::max(1, cpus / sharing)) << o.output;
  EXPECT_EQ(read_json(json)["config"]["threads"], threads);
  const Outcome env = run_command("env OMP_NUM_THREADS=1 " + mpirun(2) + kExe + args, 120);
  EXPECT_EQ(env.status, 0) << env.output;
  EXPECT_NE(env.output.find("threads: 1 from OMP_NUM_THREADS"), std::string::npos) << env.output;
}

TEST(FsdpMpi, BadShardingIsAUsageError) {
  const Outcome o = run_command(kExe + " --sharding zero9", 30);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("--sharding"), std::string::npos) << o.output;
}

}  // namespace
