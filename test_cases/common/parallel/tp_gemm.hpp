// Tensor-parallel GEMMs with their communication, as Megatron-LM's tensor and sequence parallelism place them
// (the building blocks of awsdt-megatron: its `gemm` benchmark times exactly this code). For the global GEMM
// C[M,N] = A[M,K]·B[K,N] over a TP group of tp ranks, rank r holds:
//   ag_gemm  A's rows r·M/tp.. (sequence shard) and B's columns r·N/tp..; C = all-gather(A)·B_r      [M, N/tp]
//   gemm_rs  A's columns r·K/tp.. and B's rows r·K/tp..; C = reduce-scatter over rows of A_r·B_r     [M/tp, N]
//   gemm_ar  as gemm_rs, with C = all-reduce of A_r·B_r                                              [M, N]
// and computes it by one of three methods:
//   serial     the collective, then the GEMM (or the GEMM, then the collective), one after the other;
//   pipelined  split into chunks of rows; chunk i+1's collective runs on the communication stream while chunk i's
//              GEMMs run on the compute stream (TransformerEngine's split-pipelined overlap);
//   ring       tp−1 point-to-point steps to the ring neighbours, each overlapped with the GEMM of the shard in
//              hand; for gemm_rs the partial sums travel and accumulate around the ring (TE's *_P2P, PyTorch
//              async-TP's fused all-gather-matmul and matmul-reduce-scatter).
// Every buffer is row-major and lives on the streams' device; work is enqueued and returns at once. A model keeps
// its weights [out, in] (Hugging Face's layout): with b_transposed, B_r is given that way, as B_rᵀ, and the GEMM
// engine reads it transposed (no copy of the weights).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "comm/communicator.hpp"
#include "device/device.hpp"
#include "kernels/gemm.hpp"

namespace awsdt::parallel {

enum class TpPattern { ag_gemm, gemm_rs, gemm_ar };
enum class TpMethod { serial, pipelined, ring };

std::string_view pattern_name(TpPattern pattern);
std::string_view method_name(TpMethod method);
/// Parses serial, pipelined or ring; throws UsageError listing them.
TpMethod parse_method(std::string_view text);

/// The global GEMM before tensor parallelism splits it: C[m,n] = A[m,k]·B[k,n].
struct GemmDims {
  int m = 0, n = 0, k = 0;
};

/// The row-major shapes of one rank's A, B and C (B as B[K,N] holds it: stored [b_cols, b_rows] when b_transposed).
struct LocalShapes {
  int a_rows = 0, a_cols = 0, b_rows = 0, b_cols = 0, c_rows = 0, c_cols = 0;
};
LocalShapes local_shapes(TpPattern pattern, GemmDims dims, int tp);

/// Throws UsageError naming the value when `dims` does not split over `tp` ranks for `pattern` and `method` (M,
/// N or K not a multiple of tp where the pattern splits it; chunks outside 1 and the rows they split).
void check_tp_gemm(TpPattern pattern, TpMethod method, GemmDims dims, int tp, int chunks);

/// Where tensor-parallel GEMMs run: the TP group, a compute and a communication stream on its device, the GEMM
/// engine of the compute stream and the element type.
struct TpResources {
  Communicator& comm;
  Stream& compute;
  Stream& comm_stream;
  kernels::GemmEngine& gemm;
  DataType dtype;
};

/// One tensor-parallel GEMM of a fixed shape and method, with its workspace; run it as often as needed.
class TpGemm {
 public:
  /// Throws UsageError naming the value when the shape does not split over the group (M, N or K not a
  /// multiple of tp where the pattern splits it; more chunks than rows to split). b_transposed: run() takes
  /// this rank's B_r as B_rᵀ, row-major [N_r, K_r] (a weight stored [out, in]).
  TpGemm(const TpResources& resources, TpPattern pattern, TpMethod method, GemmDims dims, int chunks,
         bool b_transposed = false);

  const LocalShapes& shapes() const { return shapes_; }
  TpPattern pattern() const { return pattern_; }
  TpMethod method() const { return method_; }
  /// The GEMM work of one rank: 2·M·N·K / tp.
  double flops_per_rank() const;
  /// Bytes of the collective (what nccl-tests' size means for it) and its bus-bandwidth factor.
  double comm_bytes() const;
  double busbw_factor() const;

  /// c = the pattern of a (this rank's shard) and b (this rank's part of B), by this method. Inputs are read
  /// after all compute enqueued before; c is complete in compute-stream order.
  void run(const void* a, const void* b, void* c);
  /// This method's GEMMs alone, without communication (their results are not meaningful).
  void run_gemm_only(const void* a, const void* b, void* c);
  /// The pattern's collective alone, unchunked, on the communication stream.
  void run_comm_only(const void* a, void* c);
  /// ag_gemm: the gathered A of the last run(), row-major [M, K] on the device, complete in compute-stream
  /// order (a weight gradient's operand, as Megatron keeps it); nullptr for the other patterns.
  const void* gathered() const;

 private:
  struct Chunk {
    int offset, rows;
  };
  /// The workspace `elements` elements in.
  char* ws(std::size_t elements) const;
  void gemm(int m, int n, int k, const void* a, const void* b, void* c, float beta = 0.0f);
  void begin();
  void end_on_comm();
  void ag_gemm(const void* a, const void* b, void* c, bool comm);
  void gemm_rs(const void* a, const void* b, void* c, bool comm);
  void gemm_ar(const void* a, const void* b, void* c, bool comm);
  void ring_reduce_scatter(const void* a, const void* b, void* block, bool comm);
  Event& event(std::size_t i) { return events_[i]; }

  TpResources r_;
  TpPattern pattern_;
  TpMethod method_;
  GemmDims dims_;
  bool b_transposed_;
  LocalShapes shapes_;
  int tp_, rank_;
  std::size_t esize_;
  std::vector<Chunk> chunks_;
  Buffer workspace_;
  Event start_, done_;
  std::vector<Event> events_;
};

}  // namespace awsdt::parallel
