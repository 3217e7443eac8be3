// Command line of awsdt-megatron gemm (see options.hpp).
#include "bench/metrics_file.hpp"
#include "options.hpp"

#include <algorithm>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "parallel/tp_gemm.hpp"
#include "shapes.hpp"
#include "util/error.hpp"

namespace awsdt::megatron {
namespace {

// A comma-separated list whose "all" means every choice; each item must be one of `choices`.
void add_list(CLI::App& app, const std::string& flag, std::vector<std::string>& target,
              const std::vector<std::string>& choices, const std::string& help) {
  app.add_option_function<std::string>(
      flag,
      [&target, choices, flag](const std::string& text) {
        target.clear();
        for (std::size_t a = 0; a <= text.size();) {
          const std::size_t b = std::min(text.find(',', a), text.size());
          target.push_back(text.substr(a, b - a));
          a = b + 1;
        }
        if (target == std::vector<std::string>{"all"}) return void(target = choices);
        for (const std::string& v : target)
          if (std::find(choices.begin(), choices.end(), v) == choices.end())
            throw UsageError(fmt::format("{} {}: '{}' is not one of {}, all", flag, text, v, fmt::join(choices, ", ")));
      },
      help);
}

}  // namespace

void add_gemm_options(CLI::App& app, GemmOptions& o) {
  // A flag given twice takes its last value (nccl-tests' getopt does): `awsdt run` appends the user's flags.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_list(app, "--pattern", o.patterns, {"ag_gemm", "gemm_rs", "gemm_ar", "layer"},
           "ag_gemm, gemm_rs, gemm_ar, layer, comma-separated, or all (default ag_gemm,gemm_rs)");
  add_list(app, "--method", o.methods, {"serial", "pipelined", "ring"},
           "serial, pipelined, ring, comma-separated, or all (default all)");
  app.add_option("--chunks", o.chunks, "pipelined: chunks of rows each collective is split into")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--shape", o.shape, "the global GEMM MxNxK before TP splits it (e.g. 8192x8192x28672)");
  app.add_option("--model", o.model,
                 "a preset whose transformer layer gives the shapes (llama3_1_70b, gpt3_175b, ...)");
  app.add_option("--tp", o.tp, "tensor-parallel size (default: every rank; must divide the ranks)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seq", o.seq, "--model: sequence length (default: the preset's)")->check(CLI::NonNegativeNumber);
  app.add_option("--micro-batch", o.micro_batch, "--model: sequences per micro-batch (M = seq · micro-batch)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sweep-m", o.sweep_m, "sweep M over MIN:MAX[:FACTOR] (factor 2 by default), as nccl-tests -b/-e/-f");
  app.add_option("--dtype", o.dtype, "float (CPUs), bfloat16 or half (GPUs); default: float on CPUs, bfloat16 on GPUs");
  app.add_option("-c,--check", o.check, "compare every method with serial and serial with float64 (0/1)")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  // At most 1024: OpenMP and OpenBLAS cap their pools far below that, so more is a typo, not a request.
  app.add_option("--threads", o.threads, "CPU threads per rank (default: OMP_NUM_THREADS, else the rank's share)")
      ->check(CLI::Range(0, 1024));
  add_timing_options(app, o.timing);
  add_mpi_wait_option(app, o.common.comm.mpi_wait);
  add_common_options(app, o.common, "-J,--output,--output_file");
  add_metrics_file_option(app, o.metrics_file);
  app.add_option("--check-args", o.check_args_ranks,
                 "check the other flags for N ranks and exit 0, or 2 with the error, without communicating")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--corrupt-result-for-test", o.corrupt_for_test)->group("");
}

void validate(const GemmOptions& o) {
  const int sources = !o.shape.empty() + !o.model.empty();
  if (sources > 1) throw UsageError("--shape and --model both give the shapes: pass one");
  const bool layer = std::find(o.patterns.begin(), o.patterns.end(), "layer") != o.patterns.end();
  if (layer && o.model.empty()) throw UsageError("--pattern layer needs --model (the layer's shapes come from it)");
  if (!o.sweep_m.empty() && layer) throw UsageError("--sweep-m sweeps single GEMMs; --pattern layer takes --model");
  // The parsers' messages name the value; the flag goes in front unless they name it already.
  const auto named = [](const char* flag, auto&& parse) {
    try {
      parse();
    } catch (const UsageError& e) {
      if (std::string_view(e.what()).starts_with(flag)) throw;
      throw UsageError(fmt::format("{}: {}", flag, e.what()));
    }
  };
  if (!o.shape.empty()) named("--shape", [&] { parse_shape(o.shape); });
  if (!o.sweep_m.empty()) named("--sweep-m", [&] { parse_m_sweep(o.sweep_m); });
  if (!o.model.empty()) layer_shape(o.model, o.seq, o.micro_batch);  // names --model, or --seq and --micro-batch
  if (o.dtype != "auto") named("--dtype", [&] { parse_dtype(o.dtype); });
}

}  // namespace awsdt::megatron
