// Megatron's --tp-comm-overlap for TpModel: the tensor-parallel GEMMs whose inputs or outputs cross the group run
// through the core's TpGemm (parallel/tp_gemm.hpp, the kernels `awsdt-megatron gemm` times), split into chunks
// (pipelined) or ring steps so that the collective of one part runs on a communication stream while the GEMM of
// another runs on the compute stream. The model's weights stay [out, in]: forward GEMMs read them transposed.
//
// Exposed TP communication is the wall time of these calls less the time the compute stream spent in GEMMs
// during them: the communication the GEMMs did not hide (waits, and the copies and additions it needs).
#pragma once

#include <map>
#include <memory>
#include <tuple>

#include "comm/communicator.hpp"
#include "device/device.hpp"
#include "parallel/tp_gemm.hpp"

namespace awsdt::train {

/// How TpModel runs its TP collectives: blocking (off), or overlapped with the GEMMs by `method`.
struct TpCommOverlap {
  bool on = false;
  parallel::TpMethod method = parallel::TpMethod::ring;
  int chunks = 4;  ///< pipelined: the parts each collective is split into
};

class TimedGemmEngine;

class TpOverlap {
 public:
  /// tp: the model's tensor-parallel group (CPU, MPI).
  TpOverlap(Communicator& tp, parallel::TpMethod method, int chunks);
  ~TpOverlap();

  /// out[N, n] = all-gather(shard[N/tp, k]) · W, W stored [n, k] when w_out_in (a column-parallel layer's slice),
  /// else [k, n]. Returns the gathered input [N, k], valid until the next call of the same shape.
  const float* ag_gemm(const float* shard, const float* w, bool w_out_in, int N, int n, int k, float* out);
  /// shard[N/tp, n] = reduce-scatter over rows of a[N, k] · W (W as above; k: this rank's part).
  void gemm_rs(const float* a, const float* w, bool w_out_in, int N, int n, int k, float* shard);
  /// out[N, n] = all-reduce of a[N, k] · W (without sequence parallelism).
  void gemm_ar(const float* a, const float* w, bool w_out_in, int N, int n, int k, float* out);
  /// Exposed milliseconds since the last call.
  double take_exposed_ms();

 private:
  parallel::TpGemm& op(parallel::TpPattern pattern, parallel::GemmDims dims, bool w_out_in);
  void run(parallel::TpGemm& g, const void* a, const void* b, void* c);

  Communicator& tp_;
  parallel::TpMethod method_;
  int chunks_;
  Stream compute_, comm_;
  std::unique_ptr<TimedGemmEngine> engine_;
  std::map<std::tuple<int, int, int, int, bool>, std::unique_ptr<parallel::TpGemm>> ops_;
  double exposed_ms_ = 0;
};

}  // namespace awsdt::train
