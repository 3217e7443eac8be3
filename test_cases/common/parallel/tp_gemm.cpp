// Tensor-parallel GEMMs (see tp_gemm.hpp). Ordering between the two streams goes through events only: a run
// starts with the communication stream waiting for the compute stream (its inputs, and the workspace's last
// readers), and ends with the compute stream waiting for whatever communication produced the output.
#include "parallel/tp_gemm.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt::parallel {
namespace {

// Rows [offset, offset + rows) of `total` split into `chunks` nearly equal parts.
std::vector<std::pair<int, int>> split_rows(int total, int chunks) {
  std::vector<std::pair<int, int>> out;
  for (int c = 0; c < chunks; ++c) {
    const int lo = static_cast<int>(std::int64_t(total) * c / chunks);
    const int hi = static_cast<int>(std::int64_t(total) * (c + 1) / chunks);
    out.emplace_back(lo, hi - lo);
  }
  return out;
}

void require_multiple(int value, int tp, const char* what) {
  if (value % tp != 0)
    throw UsageError(fmt::format("{} {} is not a multiple of the tensor-parallel size {}", what, value, tp));
}

}  // namespace

std::string_view pattern_name(TpPattern p) {
  switch (p) {
    case TpPattern::ag_gemm: return "ag_gemm";
    case TpPattern::gemm_rs: return "gemm_rs";
    case TpPattern::gemm_ar: return "gemm_ar";
  }
  return "?";
}

std::string_view method_name(TpMethod m) {
  switch (m) {
    case TpMethod::serial: return "serial";
    case TpMethod::pipelined: return "pipelined";
    case TpMethod::ring: return "ring";
  }
  return "?";
}

TpMethod parse_method(std::string_view text) {
  for (TpMethod m : {TpMethod::serial, TpMethod::pipelined, TpMethod::ring})
    if (text == method_name(m)) return m;
  throw UsageError(fmt::format("method '{}' is not serial, pipelined or ring", text));
}

LocalShapes local_shapes(TpPattern p, GemmDims d, int tp) {
  switch (p) {
    case TpPattern::ag_gemm: return {d.m / tp, d.k, d.k, d.n / tp, d.m, d.n / tp};
    case TpPattern::gemm_rs: return {d.m, d.k / tp, d.k / tp, d.n, d.m / tp, d.n};
    case TpPattern::gemm_ar: return {d.m, d.k / tp, d.k / tp, d.n, d.m, d.n};
  }
  return {};
}

void check_tp_gemm(TpPattern pattern, TpMethod method, GemmDims dims, int tp, int chunks) {
  if (dims.m < 1 || dims.n < 1 || dims.k < 1)
    throw UsageError(fmt::format("GEMM shape {}x{}x{} must be positive", dims.m, dims.n, dims.k));
  // Sequence parallelism shards rows; gemm_ar's ring reduce-scatters them before gathering.
  if (pattern != TpPattern::gemm_ar || method == TpMethod::ring) require_multiple(dims.m, tp, "M");
  require_multiple(pattern == TpPattern::ag_gemm ? dims.n : dims.k, tp, pattern == TpPattern::ag_gemm ? "N" : "K");
  const int split = pattern == TpPattern::gemm_ar ? dims.m : dims.m / tp;
  if (method == TpMethod::pipelined && (chunks < 1 || chunks > split))
    throw UsageError(fmt::format("--chunks {} must be between 1 and the {} rows it splits", chunks, split));
}

TpGemm::TpGemm(const TpResources& resources, TpPattern pattern, TpMethod method, GemmDims dims, int chunks,
               bool b_transposed)
    : r_(resources),
      pattern_(pattern),
      method_(method),
      dims_(dims),
      b_transposed_(b_transposed),
      tp_(resources.comm.size()),
      rank_(resources.comm.rank()),
      esize_(dtype_size(resources.dtype)),
      start_(resources.compute.device()),
      done_(resources.compute.device()) {
  check_tp_gemm(pattern, method, dims, tp_, chunks);
  shapes_ = local_shapes(pattern, dims, tp_);
  const int split = pattern == TpPattern::gemm_ar ? dims.m : dims.m / tp_;
  for (auto [offset, rows] : split_rows(split, method == TpMethod::pipelined ? chunks : 1))
    chunks_.push_back({offset, rows});
  const std::size_t M = dims.m, Mb = dims.m / tp_;
  // ag_gemm: the gathered input and (pipelined) its chunk-major staging; the others: the partial sums or
  // their staging, and the ring's two partial and two received blocks.
  const std::size_t elements = pattern == TpPattern::ag_gemm ? 2 * M * dims.k : M * dims.n + 4 * Mb * dims.n;
  workspace_ = Buffer::on(r_.compute.device(), elements * esize_);
  memset_async(workspace_.data(), 0, workspace_.bytes(), r_.compute);  // no stale NaNs or subnormals to time
  for (int i = 0; i < 2 * std::max(tp_, chunks) + 2; ++i) events_.emplace_back(r_.compute.device());
}

double TpGemm::flops_per_rank() const { return 2.0 * dims_.m * double(dims_.n) * dims_.k / tp_; }

double TpGemm::comm_bytes() const {
  const double bytes = double(dims_.m) * (pattern_ == TpPattern::ag_gemm ? dims_.k : dims_.n) * esize_;
  return bytes;  // all-gather: its output; reduce-scatter and all-reduce: their input
}

double TpGemm::busbw_factor() const {
  const double n = tp_;
  return pattern_ == TpPattern::gemm_ar ? 2.0 * (n - 1) / n : (n - 1) / n;
}

char* TpGemm::ws(std::size_t elements) const {
  return static_cast<char*>(const_cast<void*>(workspace_.data())) + elements * esize_;
}

const void* TpGemm::gathered() const { return pattern_ == TpPattern::ag_gemm ? ws(0) : nullptr; }

void TpGemm::gemm(int m, int n, int k, const void* a, const void* b, void* c, float beta) {
  // B is always whole (every method splits A's and C's rows only), so its transposition is the engine's alone.
  r_.gemm.run({m, n, k, false, b_transposed_}, r_.dtype, a, b, c, beta, r_.compute);
}

void TpGemm::begin() {
  start_.record(r_.compute);
  r_.comm_stream.wait(start_);
}

void TpGemm::end_on_comm() {
  done_.record(r_.comm_stream);
  r_.compute.wait(done_);
}

void TpGemm::run(const void* a, const void* b, void* c) {
  begin();
  switch (pattern_) {
    case TpPattern::ag_gemm: return ag_gemm(a, b, c, true);
    case TpPattern::gemm_rs: return gemm_rs(a, b, c, true);
    case TpPattern::gemm_ar: return gemm_ar(a, b, c, true);
  }
}

void TpGemm::run_gemm_only(const void* a, const void* b, void* c) {
  switch (pattern_) {
    case TpPattern::ag_gemm: return ag_gemm(a, b, c, false);
    case TpPattern::gemm_rs: return gemm_rs(a, b, c, false);
    case TpPattern::gemm_ar: return gemm_ar(a, b, c, false);
  }
}

void TpGemm::run_comm_only(const void* a, void* c) {
  begin();
  const std::size_t Mb = dims_.m / tp_;
  switch (pattern_) {
    case TpPattern::ag_gemm: r_.comm.all_gather(a, ws(0), Mb * dims_.k, r_.dtype, r_.comm_stream); break;
    case TpPattern::gemm_rs:
      r_.comm.reduce_scatter(ws(0), c, Mb * dims_.n, r_.dtype, ReduceOp::sum, r_.comm_stream);
      break;
    case TpPattern::gemm_ar:
      r_.comm.all_reduce(c, c, std::size_t(dims_.m) * dims_.n, r_.dtype, ReduceOp::sum, r_.comm_stream);
      break;
  }
  end_on_comm();
}

}  // namespace awsdt::parallel
