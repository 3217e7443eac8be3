// awsdt-megatron gemm (see gemm_command.hpp).
#include "gemm_command.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bench/cpu_share.hpp"
#include "bench/guard.hpp"
#include "bench/launch_check.hpp"
#include "bench/peak.hpp"
#include "bench/watchdog.hpp"
#include "comm/registry.hpp"
#include "layer.hpp"
#include "bench/metrics_file.hpp"
#include "report.hpp"
#include "results/result.hpp"
#include "shapes.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/memory.hpp"
#include "util/log.hpp"

namespace awsdt::megatron {
namespace {

using parallel::GemmDims;
using parallel::TpPattern;

struct Case {
  TpPattern pattern;
  GemmDims dims;
  std::string role;  ///< the layer GEMM it comes from, with --model
};

TpPattern pattern_of(const std::string& name) {
  return name == "ag_gemm" ? TpPattern::ag_gemm : name == "gemm_rs" ? TpPattern::gemm_rs : TpPattern::gemm_ar;
}

// The single-GEMM cases: --shape (or its --sweep-m), or every layer GEMM of the pattern under --model (gemm_ar
// takes the row-parallel ones: TP without sequence parallelism all-reduces where SP reduce-scatters).
std::vector<Case> cases(const GemmOptions& o, const std::string& pattern, int tp) {
  const TpPattern p = pattern_of(pattern);
  std::vector<Case> out;
  if (!o.model.empty()) {
    for (const LayerGemm& g : layer_gemms(layer_shape(o.model, o.seq, o.micro_batch), tp))
      if (g.pattern == (p == TpPattern::gemm_ar ? TpPattern::gemm_rs : p)) out.push_back({p, g.dims, g.role});
    return out;
  }
  const GemmDims base = parse_shape(o.shape.empty() ? "1024x1024x1024" : o.shape);
  if (o.sweep_m.empty()) return {{p, base, ""}};
  for (int m : parse_m_sweep(o.sweep_m)) out.push_back({p, {m, base.n, base.k}, ""});
  return out;
}

// The GEMMs a pattern of the run times: cases(), or for `layer` every GEMM of the model's layer.
std::vector<Case> planned_cases(const GemmOptions& o, const std::string& pattern, int tp) {
  if (pattern != "layer") return cases(o, pattern, tp);
  std::vector<Case> out;
  for (const LayerGemm& g : layer_gemms(layer_shape(o.model, o.seq, o.micro_batch), tp))
    out.push_back({g.pattern, g.dims, g.role});
  return out;
}

// Every shape of the run against the group it splits over, before any communicator starts: bad input fails in
// one line on every rank alike (and `awsdt run` asks the same through --check-args before submitting).
void check_plan(const GemmOptions& o, int ranks) {
  const int tp = o.tp > 0 ? o.tp : ranks;
  if (ranks % tp != 0) throw UsageError(fmt::format("--tp {} does not divide the {} ranks", tp, ranks));
  for (const std::string& pattern : o.patterns) {
    for (const Case& c : planned_cases(o, pattern, tp))
      for (const std::string& method : o.methods)
        parallel::check_tp_gemm(c.pattern, parallel::parse_method(method), c.dims, tp, o.chunks);
  }
}

// The largest case's buffers on one rank (A, B and C as each rank holds them) against this host's memory: a
// shape that cannot fit is refused now, in one line naming the flags it came from, not by an allocation failure
// after the calibration. CPU only: GPU buffers live in device memory.
void check_memory(const GemmOptions& o, int tp, DataType dtype) {
  double most = 0;
  for (const std::string& pattern : o.patterns) {
    for (const Case& c : planned_cases(o, pattern, tp)) {
      const auto s = parallel::local_shapes(c.pattern, c.dims, tp);
      most = std::max(most, double(s.a_rows) * s.a_cols + double(s.b_rows) * s.b_cols + double(s.c_rows) * s.c_cols);
    }
  }
  const std::string shape = o.shape.empty() ? "1024x1024x1024" : o.shape;
  const std::string flags = !o.model.empty()
                                ? fmt::format("--model {} --seq {} --micro-batch {}", o.model, o.seq, o.micro_batch)
                            : o.sweep_m.empty() ? fmt::format("--shape {}", shape)
                                                : fmt::format("--shape {} --sweep-m {}", shape, o.sweep_m);
  require_memory(most * double(dtype_size(dtype)), flags,
                 fmt::format("{:.3g} elements of A, B and C in {}", most, dtype_name(dtype)));
}

DataType resolve_dtype(const GemmOptions& o, const Device& device) {
  const DataType t = o.dtype == "auto" ? (device.is_cuda() ? DataType::bf16 : DataType::f32) : parse_dtype(o.dtype);
  if (!kernels::gemm_supports(device, t))
    throw UsageError(
        fmt::format("--dtype {}: GEMMs on {} run in {}", o.dtype, device.str(), kernels::gemm_dtypes(device)));
  return t;
}

void print_preamble(const GemmOptions& o, int world, int tp, DataType dtype, const ComputePeak& peak) {
  std::printf("# awsdt-megatron gemm | ranks %d | tp %d | dtype %s | chunks %d | iters %d | warmup %d\n", world, tp,
              std::string(dtype_name(dtype)).c_str(), o.chunks, o.timing.iters, o.timing.warmup);
  std::printf("# %s\n", peak.line.c_str());
  if (!o.model.empty()) {
    const LayerShape l = layer_shape(o.model, o.seq, o.micro_batch);
    std::printf("# %s layer: hidden %d, heads %d (kv %d, head_dim %d), ffn %d%s, M = seq %d x micro-batch %d = %d\n",
                o.model.c_str(), l.hidden, l.heads, l.kv_heads, l.head_dim, l.ffn, l.gated ? " (gated)" : "", l.seq,
                l.micro_batch, l.tokens());
    for (const LayerGemm& g : layer_gemms(l, tp))
      std::printf("#   %-10s %-7s M %d N %d K %d\n", g.role.c_str(),
                  std::string(parallel::pattern_name(g.pattern)).c_str(), g.dims.m, g.dims.n, g.dims.k);
  }
}

}  // namespace

int run_gemm(const GemmOptions& o, int argc, char** argv) {
  validate(o);
  if (o.check_args_ranks > 0) {
    check_plan(o, o.check_args_ranks);
    return 0;  // arguments checked; no ranks started
  }
  CommWorld world = make_comm_world(o.common.comm);
  Communicator& comm = world.comm();
  set_abort_target(comm);
  end_with_peers(*world.bootstrap);
  const int rank = comm.rank();
  setup_logging(rank, o.common.verbose);
  check_not_alone(*world.bootstrap);
  check_plan(o, comm.size());  // every shape, before a line of output: bad input is one line on stderr
  check_output_files(o.common, rank);
  const int tp = o.tp > 0 ? o.tp : comm.size();
  std::unique_ptr<Communicator> group = tp < comm.size() ? comm.split(rank / tp, rank) : nullptr;
  const Device device = comm.device();
  const DataType dtype = resolve_dtype(o, device);
  if (!device.is_cuda()) check_memory(o, tp, dtype);
  const ComputePeak peak = device.is_cuda() ? gpu_compute_peak(device)
                                            : cpu_compute_peak(1024, cpu_threads_for_rank(o.threads, *world.bootstrap));
  const bool table = rank == 0 && !o.common.json_stdout;
  if (table) print_preamble(o, comm.size(), tp, dtype, peak);

  Bench bench{group ? *group : comm,
              *world.bootstrap,
              Stream(device),
              Stream(device),
              kernels::make_gemm_engine(device),
              dtype,
              o};
  Watchdog watchdog(0, async_error_probe(world));  // -T bounds each wait; this ends the run at an async fault
  watchdog.arm("the benchmark");
  if (table) std::fputs(table_header().c_str(), stdout);
  std::vector<Row> rows;
  MetricsFile metrics(o.metrics_file, "megatron", rank);
  for (const std::string& pattern : o.patterns) {
    std::vector<Row> got =
        pattern == "layer" ? measure_layer(bench, layer_shape(o.model, o.seq, o.micro_batch)) : std::vector<Row>{};
    for (const Case& c : pattern == "layer" ? std::vector<Case>{} : cases(o, pattern, tp))
      for (Row& r : measure_pattern(bench, c.pattern, c.dims)) got.push_back(r);
    for (const Row& r : got) {
      if (table) std::printf("%s\n", table_line(r, peak.flops).c_str());
      rows.push_back(r);
      metrics.write(row_metrics(r, static_cast<int>(rows.size())));
    }
  }
  watchdog.disarm();

  std::int64_t wrong = 0;
  for (const Row& r : rows) wrong += std::max<std::int64_t>(r.wrong, 0);
  ResultDocument doc = make_result_document("megatron", argc, argv);
  doc.hosts = world.bootstrap->hosts();
  doc.world_size = comm.size();
  doc.backend = std::string(comm.backend());
  doc.config = {{"command", "gemm"},
                {"tp", tp},
                {"dtype", dtype_name(dtype)},
                {"chunks", o.chunks},
                {"patterns", o.patterns},
                {"methods", o.methods},
                {"model", o.model},
                {"shape", o.shape},
                {"iters", o.timing.iters},
                {"warmup", o.timing.warmup},
                {"average", o.timing.average},
                {"peak_flops_per_rank", peak.flops},
                {"peak", peak.line}};
  doc.rows = rows_json(rows, peak.flops);
  if (o.check) doc.add_check("wrong elements", wrong == 0, fmt::format("{} wrong elements", wrong));
  if (rank != 0) return doc.passed() ? 0 : 1;
  if (table) std::printf("# wrong elements: %lld\n", static_cast<long long>(wrong));
  if (!o.common.json_output.empty()) write_result_document(doc, o.common.json_output);
  if (!o.common.csv_output.empty()) write_file_atomic(o.common.csv_output, format_csv(rows_table(rows, peak.flops)));
  if (o.common.json_stdout) std::cout << nlohmann::json(doc).dump(2) << "\n";
  return report_checks(doc, "awsdt-megatron");
}

}  // namespace awsdt::megatron
