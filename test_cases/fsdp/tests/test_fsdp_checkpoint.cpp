// Sharded checkpoints of awsdt-fsdp under mpirun, with real signals and real kills:
// - SIGTERM sent to every rank (as Slurm does at preemption) and SIGUSR1 sent to mpirun (which forwards it, as
//   with --signal=USR1@300) end the run after the current step with a checkpoint and exit status 75; resuming
//   gives exactly (bit for bit) the losses of an uninterrupted run;
// - a rank SIGKILLed inside a save leaves the previous checkpoint, which auto-resume picks;
// - resuming a 2-rank checkpoint on 3 and 4 ranks (resharding) continues the 2-rank loss curve;
// - truncated, foreign and mismatched checkpoints (other model, other data), a directory holding a newer
//   checkpoint than the run resumes and one that cannot be written get one clear line and exit status 2;
// - a signal during the last step completes the run; one during a save stops right after it; without a
//   checkpoint directory a preempted run exits 128+signal, not "requeue me";
// - --export writes the consolidated model as Hugging Face safetensors that --init-from and nn::load_safetensors
//   read back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/config.hpp"
#include "nn/model.hpp"
#include "nn/safetensors.hpp"
#include "support/executables.hpp"
#include "support/files.hpp"
#include "support/run_command.hpp"

using awsdt::testing::mpirun;
using awsdt::testing::Outcome;
using awsdt::testing::read_json;
using awsdt::testing::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kExe = awsdt::testing::built_executable("awsdt-fsdp");
// The global batch of 12 splits over 2, 3 and 4 ranks. Runs cut short by a signal keep the default cosine
// schedule, its warm-up spanning the preemption, so that a resume at the wrong point in it shows in the losses;
// a constant learning rate makes runs of different lengths (cut short by --steps) share one schedule.
const std::string kCommon =
    " --model tiny --threads 1 --micro-batch-size 1 --global-batch-size 12 --log-every 1 --calibrate-n 32";
const std::string kCosine = " --lr-schedule cosine --warmup-steps 5";
const std::string kConstant = " --lr-schedule constant --warmup-steps 0";

std::string temp_path(const std::string& name) { return awsdt::testing::temp_path("fsdp_ckpt", name); }

// Removes this process's temporary files and checkpoint directories when the tests end.
class CleanUp : public ::testing::Environment {
 public:
  void TearDown() override {
    const std::string prefix = fs::path(temp_path("")).filename().string();
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
      if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove_all(e.path());
  }
};
[[maybe_unused]] const auto* const kCleanUp = ::testing::AddGlobalTestEnvironment(new CleanUp);

struct Row {
  double loss = 0, grad_norm = 0;
};

// step → (loss, grad norm) from a result document.
std::map<int, Row> rows(const std::string& json) {
  std::map<int, Row> out;
  const nlohmann::json doc = read_json(json);
  for (const auto& r : doc.at("rows")) out[r.at("step").get<int>()] = {r.at("loss"), r.at("grad_norm")};
  return out;
}

// np = 1: the executable alone (its error output is exactly what the user sees, without mpirun's epilogue).
Outcome launch(int np, const std::string& args, int limit = 240) {
  return run_command((np == 1 ? "" : mpirun(np)) + kExe + kCommon + args, limit);
}

// The uninterrupted 2-rank run of 16 steps every resumed run is compared with, for a schedule.
const std::map<int, Row>& reference(const std::string& schedule) {
  static std::map<std::string, std::map<int, Row>> runs;
  if (!runs.count(schedule)) {
    const std::string json = temp_path("reference" + std::to_string(runs.size()) + ".json");
    const Outcome o = launch(2, schedule + " --steps 16 --output " + json);
    EXPECT_EQ(o.status, 0) << o.output;
    runs[schedule] = rows(json);
  }
  return runs[schedule];
}

// Runs `args` on 2 ranks in the background, waits for the step line `wait_for`, sends `signal` to `target`
// (mpirun's pid, or every rank's: command lines that start with the executable and name the unique directory), and
// returns the outcome.
Outcome interrupt(const std::string& args, const std::string& dir, const std::string& wait_for,
                  const std::string& signal, bool to_ranks) {
  const std::string log = temp_path("interrupt.log"), script = temp_path("interrupt.sh");
  std::ofstream(script) << "#!/bin/bash\n"
                        << ": > " << log << "\n"  // empty before the wait below reads it (not the last test's)
                        << mpirun(2) << kExe << kCommon << args << " > " << log << " 2>&1 &\n"
                        << "pid=$!\n"
                        << "until grep -q '" << wait_for << "' " << log << "; do sleep 0.01; done\n"
                        << (to_ranks ? "pkill -" + signal + " -f '^" + kExe + " .*" + dir + "'\n"
                                     : "kill -" + signal + " $pid\n")
                        << "wait $pid; rc=$?\ncat " << log << "\nexit $rc\n";
  return run_command("bash " + script, 240);
}

void expect_same(const std::map<int, Row>& got, const std::map<int, Row>& want, double rel) {
  ASSERT_FALSE(got.empty());
  for (const auto& [step, r] : got) {
    ASSERT_TRUE(want.count(step)) << "step " << step;
    if (rel == 0) {
      EXPECT_EQ(r.loss, want.at(step).loss) << "step " << step;
      EXPECT_EQ(r.grad_norm, want.at(step).grad_norm) << "step " << step;
    } else {
      EXPECT_LE(std::abs(r.loss - want.at(step).loss), rel * std::abs(want.at(step).loss)) << "step " << step;
    }
  }
}

void preempt_and_resume(const std::string& tag, const std::string& signal, bool to_ranks) {
  const std::string dir = temp_path(tag), first = temp_path(tag + "_1.json"), second = temp_path(tag + "_2.json");
  fs::remove_all(dir);
  const std::string args = kCosine + " --steps 16 --checkpoint-dir " + dir;
  const Outcome o = interrupt(args + " --output " + first, dir, "step 3/16", signal, to_ranks);
  ASSERT_EQ(o.status, 75) << o.output;
  EXPECT_NE(o.output.find("preempted by signal"), std::string::npos) << o.output;
  const auto before = rows(first);
  ASSERT_FALSE(before.empty());
  const int stopped = before.rbegin()->first;
  ASSERT_LT(stopped, 16) << "the signal arrived too late to test anything";
  EXPECT_TRUE(fs::exists(dir + "/step_" + std::string(8 - std::to_string(stopped).size(), '0') +
                         std::to_string(stopped) + "/metadata.json"));

  const Outcome r = launch(2, args + " --output " + second);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  const auto after = rows(second);
  ASSERT_EQ(after.begin()->first, stopped + 1);
  ASSERT_EQ(after.rbegin()->first, 16);
  expect_same(before, reference(kCosine), 0);
  expect_same(after, reference(kCosine), 0);
}

TEST(FsdpCheckpoint, SigtermToEveryRankCheckpointsAndResumesExactly) {
  preempt_and_resume("sigterm", "TERM", /*to_ranks=*/true);
}

TEST(FsdpCheckpoint, Sigusr1ToMpirunCheckpointsAndResumesExactly) {
  preempt_and_resume("sigusr1", "USR1", /*to_ranks=*/false);
}

TEST(FsdpCheckpoint, KillDuringSaveLeavesThePreviousCheckpoint) {
  const std::string dir = temp_path("killed"), json = temp_path("killed.json");
  fs::remove_all(dir);
  const std::string args = kCosine + " --steps 16 --checkpoint-every 4 --checkpoint-dir " + dir;
  const Outcome o = launch(2, args + " --fail-rank 1 --fail-in-save 8");
  ASSERT_NE(o.status, 0) << o.output;
  EXPECT_TRUE(fs::exists(dir + "/step_00000004/metadata.json"));
  EXPECT_TRUE(fs::exists(dir + "/step_00000008/shard_00001_of_00002.safetensors")) << "rank 1 wrote its shard";
  EXPECT_FALSE(fs::exists(dir + "/step_00000008/metadata.json")) << "the killed save must not look complete";

  const Outcome r = launch(2, args + " --output " + json);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("step_00000004 at step 4"), std::string::npos) << r.output;
  const auto after = rows(json);
  EXPECT_EQ(after.begin()->first, 5);
  expect_same(after, reference(kCosine), 0);
  // The abandoned save is gone once a newer complete checkpoint exists; two complete ones are kept.
  EXPECT_FALSE(fs::exists(dir + "/step_00000004"));
  EXPECT_TRUE(fs::exists(dir + "/step_00000012/metadata.json"));
  EXPECT_TRUE(fs::exists(dir + "/step_00000016/metadata.json"));
}

TEST(FsdpCheckpoint, ResumeOnMoreRanksReshards) {
  const std::string dir = temp_path("reshard");
  fs::remove_all(dir);
  ASSERT_EQ(launch(2, kConstant + " --steps 8 --checkpoint-dir " + dir).status, 0);
  for (int np : {3, 4}) {
    const std::string json = temp_path("reshard_" + std::to_string(np) + ".json");
    const Outcome r =
        launch(np, kConstant + " --steps 16 --keep-checkpoints 0 --resume " + dir + "/step_00000008 --checkpoint-dir " +
                       temp_path("reshard_out_" + std::to_string(np)) + " --output " + json);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("written by 2 rank(s) in 2 shard(s)"), std::string::npos) << r.output;
    const auto after = rows(json);
    EXPECT_EQ(after.begin()->first, 9);
    expect_same(after, reference(kConstant), 1e-5);  // other ranks sum in another order
  }
}

TEST(FsdpCheckpoint, BadCheckpointsGetOneClearLine) {
  const std::string dir = temp_path("bad");
  fs::remove_all(dir);
  ASSERT_EQ(launch(2, " --steps 2 --checkpoint-dir " + dir).status, 0);
  const std::string ckpt = dir + "/step_00000002";

  const Outcome shape = launch(1, " --steps 4 --dim 64 --resume " + ckpt);
  EXPECT_EQ(shape.status, 2) << shape.output;
  EXPECT_NE(shape.output.find("was written for a model with dim = 128, this run has dim = 64"), std::string::npos)
      << shape.output;

  const Outcome missing = launch(1, " --steps 4 --resume " + dir + "/nowhere");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("no such checkpoint"), std::string::npos) << missing.output;

  const std::string shard = ckpt + "/shard_00001_of_00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 100);
  const Outcome truncated = launch(1, " --steps 4 --resume " + ckpt);
  EXPECT_EQ(truncated.status, 2) << truncated.output;
  EXPECT_NE(truncated.output.find("shard_00001_of_00002.safetensors' has"), std::string::npos) << truncated.output;
  EXPECT_NE(truncated.output.find("truncated"), std::string::npos) << truncated.output;

  std::ofstream(ckpt + "/metadata.json") << R"({"format": "torch-distributed-checkpoint", "version": 1})";
  const Outcome foreign = launch(1, " --steps 4 --resume " + ckpt);
  EXPECT_EQ(foreign.status, 2) << foreign.output;
  EXPECT_NE(foreign.output.find("not an awsdt-fsdp checkpoint"), std::string::npos) << foreign.output;
  // Errors are one line each.
  for (const Outcome* o : {&shape, &missing, &truncated, &foreign})
    EXPECT_EQ(std::count(o->output.begin(), o->output.end(), '\n'), 1) << o->output;
}

TEST(FsdpCheckpoint, ExportIsReadBackByInitFrom) {
  const std::string model = temp_path("exported.safetensors"), json = temp_path("export.json"),
                    init = temp_path("init.json");
  const std::string learnable = kConstant + " --synthetic pattern", dir = temp_path("export_ckpt");
  const std::string dump = temp_path("exported.bin");
  ASSERT_EQ(launch(2, learnable + " --lr 0.003 --steps 16 --checkpoint-dir " + dir + " --export " + model +
                          " --dump-params " + dump + " --output " + json)
                .status,
            0);
  // The file holds the trained weights, bit for bit, read by the loader that matches transformers' files.
  {
    awsdt::nn::Model read(awsdt::nn::model_preset("tiny"), 1);
    awsdt::nn::load_safetensors(read, model);
    std::string bytes;
    for (const auto& u : read.units())
      bytes.append(reinterpret_cast<const char*>(u.params.data()), u.params.size() * sizeof(float));
    EXPECT_TRUE(bytes == awsdt::testing::read_bytes(dump)) << "the export differs from the trained parameters";
  }
  // Consolidating the final checkpoint on one process (nothing left to train) writes the same file, byte for byte.
  const std::string again = temp_path("consolidated.safetensors");
  const Outcome c = launch(1, learnable + " --steps 16 --resume " + dir + " --export " + again);
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_NE(c.output.find("nothing left to train"), std::string::npos) << c.output;
  const std::string model_bytes = awsdt::testing::read_bytes(model);
  ASSERT_GT(model_bytes.size(), 1000u) << model;
  EXPECT_EQ(awsdt::testing::read_bytes(again), model_bytes);
  // Training on from the exported weights with lr 0 evaluates them: step 1's loss is the exported model's loss
  // on the first batch, far below the loss of the seeded initialisation (about ln 512 = 6.24) and close to the
  // loss of the export run's last step.
  const Outcome o = launch(2, learnable + " --steps 1 --lr 0 --init-from " + model + " --output " + init);
  ASSERT_EQ(o.status, 0) << o.output;
  const auto trained = rows(json);
  const double start = trained.at(1).loss, last = trained.at(16).loss, exported = rows(init).at(1).loss;
  EXPECT_NEAR(start, std::log(512.0), 0.1);
  EXPECT_LT(last, start - 1.0) << "the pattern is learnable";
  EXPECT_NEAR(exported, last, 0.25 * (start - last)) << "the export holds the trained weights";
  // A run on 1 rank reads the same file: same loss up to summation order.
  const std::string one = temp_path("init1.json");
  ASSERT_EQ(
      run_command(kExe + kCommon + learnable + " --steps 1 --lr 0 --init-from " + model + " --output " + one).status,
      0);
  EXPECT_NEAR(rows(one).at(1).loss, exported, 1e-5 * exported);
}

TEST(FsdpCheckpoint, ASignalDuringTheLastStepCompletesTheRun) {
  const std::string dir = temp_path("last"), json = temp_path("last.json");
  fs::remove_all(dir);
  const Outcome o = launch(2, " --steps 4 --checkpoint-dir " + dir + " --signal-at-step 4 --output " + json);
  EXPECT_EQ(o.status, 0) << "a requeue would run a finished job again\n" << o.output;
  EXPECT_EQ(o.output.find("preempted"), std::string::npos) << o.output;
  EXPECT_EQ(rows(json).rbegin()->first, 4);
  EXPECT_TRUE(fs::exists(dir + "/step_00000004/metadata.json"));
}

TEST(FsdpCheckpoint, ASignalDuringASaveStopsRightAfterIt) {
  const std::string dir = temp_path("in_save"), json = temp_path("in_save.json");
  fs::remove_all(dir);
  const Outcome o = launch(2, " --steps 8 --checkpoint-every 2 --checkpoint-dir " + dir +
                                  " --signal-at-step 2 --signal-in-save --output " + json);
  EXPECT_EQ(o.status, 75) << o.output;
  EXPECT_EQ(rows(json).rbegin()->first, 2) << "not one more step (and save) into the grace period";
  EXPECT_TRUE(fs::exists(dir + "/step_00000002/metadata.json"));
  EXPECT_FALSE(fs::exists(dir + "/step_00000003"));
}

TEST(FsdpCheckpoint, APreemptedRunWithoutCheckpointsIsNotRequeued) {
  const Outcome o = launch(1, " --steps 4 --signal-at-step 2");
  EXPECT_EQ(o.status, 128 + 15) << "requeued, it would start over (on a time limit, forever)\n" << o.output;
  EXPECT_NE(o.output.find("not requeue"), std::string::npos) << o.output;
}

TEST(FsdpCheckpoint, ADirectoryWithANewerCheckpointIsRefused) {
  const std::string dir = temp_path("newer");
  fs::remove_all(dir);
  ASSERT_EQ(launch(1, " --steps 4 --checkpoint-every 2 --checkpoint-dir " + dir).status, 0);
  for (const std::string& resume : {std::string("none"), dir + "/step_00000002"}) {
    const Outcome o = launch(1, " --steps 6 --resume " + resume + " --checkpoint-dir " + dir);
    EXPECT_EQ(o.status, 2) << o.output;
    EXPECT_NE(o.output.find("holds a newer checkpoint (" + dir + "/step_00000004)"), std::string::npos) << o.output;
    EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
  }
  EXPECT_TRUE(fs::exists(dir + "/step_00000004/metadata.json")) << "nothing pruned";
  EXPECT_EQ(launch(1, " --steps 6 --checkpoint-dir " + dir).status, 0) << "auto continues it";
}

TEST(FsdpCheckpoint, AnUnwritableDirectoryFailsAtTheStartNotAtTheFirstSave) {
  const std::string file = temp_path("a_file");
  std::ofstream(file) << "not a directory";
  const std::string dir = file + "/checkpoints";
  for (int np : {1, 2}) {
    const Outcome o = launch(np, " --steps 100000 --checkpoint-dir " + dir);
    EXPECT_EQ(o.status, 2) << o.output;
    EXPECT_NE(o.output.find("directory '" + dir + "'"), std::string::npos) << o.output;
    EXPECT_EQ(o.output.find("step 1/"), std::string::npos) << "it trained first:\n" << o.output;
  }
  // A directory that lists but cannot take a file (here the probe's name is taken by a directory).
  const std::string taken = temp_path("probe_taken");
  fs::create_directories(taken + "/.awsdt-probe/x");
  const Outcome o = launch(2, " --steps 100000 --checkpoint-dir " + taken);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("--checkpoint-dir '" + taken + "'"), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find("step 1/"), std::string::npos) << "it trained first:\n" << o.output;
}

TEST(FsdpCheckpoint, OtherDataCannotResume) {
  const std::string dir = temp_path("data");
  fs::remove_all(dir);
  ASSERT_EQ(launch(2, " --steps 2 --checkpoint-dir " + dir).status, 0);
  const Outcome o = launch(1, " --steps 4 --seed 7 --checkpoint-dir " + dir);
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("was trained on synthetic random tokens (vocab 512, seed 42), this run reads synthetic "
                          "random tokens (vocab 512, seed 7)"),
            std::string::npos)
      << o.output;
  EXPECT_EQ(launch(1, " --steps 4 --checkpoint-dir " + dir).status, 0) << "the same data resumes on 1 rank";
}

}  // namespace
