// cuBLASLt linears. Row-major X[R,C] is column-major Xᵀ, so each row-major product is issued as its transpose:
//   forward   outᵀ[OC,N]  = W_cm[IC,OC]ᵀ · inp_cm[IC,N]     (m=OC, n=N,  k=IC; A transposed)
//   dinp      dinpᵀ[IC,N] = W_cm[IC,OC] · dout_cm[OC,N]     (m=IC, n=N,  k=OC)
//   dweight   dWᵀ[IC,OC] += inp_cm[IC,N] · dout_cm[OC,N]ᵀ   (m=IC, n=OC, k=N;  B transposed, fp32 C/D, β=1)
// Each distinct GEMM (shape, transposes, output type, β, pointer alignment) gets its descriptors and heuristic
// algorithm once.
#include "kernels/cuda/linear.hpp"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/check_cublas.hpp"

namespace awsdt::kernels::cuda {
namespace {

// 32 MiB: what NVIDIA recommends for cuBLASLt on Hopper (it lets the split-K and stream-K kernels run).
constexpr std::size_t kWorkspaceBytes = 32u << 20;

struct GemmKey {
  int m, n, k;
  bool trans_a, trans_b, f32_out, accumulate;
  std::uint32_t alignment = 256;  // bytes every pointer is aligned to (cuBLASLt assumes 256 unless told)
  auto tie() const { return std::tie(m, n, k, trans_a, trans_b, f32_out, accumulate, alignment); }
  bool operator<(const GemmKey& o) const { return tie() < o.tie(); }
};

// Descriptors and the chosen algorithm of one GEMM.
struct GemmPlan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};

  ~GemmPlan() {
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

}  // namespace

struct LinearContext::Impl {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::map<GemmKey, std::unique_ptr<GemmPlan>> plans;

  Impl() {
    AWSDT_CHECK_CUBLAS(cublasLtCreate(&handle));
    try {
      AWSDT_CHECK_CUDA(cudaMalloc(&workspace, kWorkspaceBytes));
    } catch (...) {  // a constructor that throws runs no destructor
      cublasLtDestroy(handle);
      throw;
    }
  }
  ~Impl() {
    plans.clear();
    if (workspace) cudaFree(workspace);
    if (handle) cublasLtDestroy(handle);
  }

  // Column-major D[m,n] = op(A)·op(B) + β·D; A stored [k,m] when transposed else [m,k] (likewise B).
  GemmPlan& plan(const GemmKey& key) {
    auto it = plans.find(key);
    if (it != plans.end()) return *it->second;
    auto p = std::make_unique<GemmPlan>();
    AWSDT_CHECK_CUBLAS(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = key.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t tb = key.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    AWSDT_CHECK_CUBLAS(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
    AWSDT_CHECK_CUBLAS(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
    const int a_rows = key.trans_a ? key.k : key.m, a_cols = key.trans_a ? key.m : key.k;
    const int b_rows = key.trans_b ? key.n : key.k, b_cols = key.trans_b ? key.k : key.n;
    AWSDT_CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, a_rows, a_cols, a_rows));
    AWSDT_CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, b_rows, b_cols, b_rows));
    AWSDT_CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&p->c, key.f32_out ? CUDA_R_32F : CUDA_R_16BF, key.m, key.n, key.m));

    cublasLtMatmulPreference_t pref = nullptr;
    AWSDT_CHECK_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
    const std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>, decltype(&cublasLtMatmulPreferenceDestroy)>
        pref_guard(pref, &cublasLtMatmulPreferenceDestroy);
    const std::size_t ws = kWorkspaceBytes;
    AWSDT_CHECK_CUBLAS(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    // Weights live at offsets inside their unit's buffer: tell the heuristic how aligned they really are.
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
      AWSDT_CHECK_CUBLAS(cublasLtMatmulPreferenceSetAttribute(pref, attr, &key.alignment, sizeof(key.alignment)));
    }
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t st =
        cublasLtMatmulAlgoGetHeuristic(handle, p->desc, p->a, p->b, p->c, p->c, pref, 1, &result, &found);
    if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
      AWSDT_THROW("cuBLASLt has no bf16 algorithm for a " + std::to_string(key.m) + "x" + std::to_string(key.n) + "x" +
                  std::to_string(key.k) + " GEMM (status " + std::to_string(int(st)) + ")");
    }
    p->algo = result.algo;
    return *plans.emplace(key, std::move(p)).first->second;
  }

  void run(GemmKey key, const void* A, const void* B, void* C, float beta, void* stream) {
    const auto bits = reinterpret_cast<std::uintptr_t>(A) | reinterpret_cast<std::uintptr_t>(B) |
                      reinterpret_cast<std::uintptr_t>(C) | 256u;
    key.alignment = static_cast<std::uint32_t>(bits & (~bits + 1));  // the lowest set bit: the common alignment
    GemmPlan& p = plan(key);
    const float alpha = 1.0f;
    AWSDT_CHECK_CUBLAS(cublasLtMatmul(handle, p.desc, &alpha, A, p.a, B, p.b, &beta, C, p.c, C, p.c, &p.algo, workspace,
                                      kWorkspaceBytes, static_cast<cudaStream_t>(stream)));
  }
};

LinearContext::LinearContext() : impl_(std::make_unique<Impl>()) {}

LinearContext::~LinearContext() = default;

std::size_t LinearContext::workspace_bytes() { return kWorkspaceBytes; }

void LinearContext::forward(Bf16* out, const Bf16* inp, const Bf16* weight, int N, int IC, int OC, void* stream) {
  impl_->run({OC, N, IC, true, false, false, false}, weight, inp, out, 0.0f, stream);
}

void LinearContext::backward(Bf16* dinp, InputGrad dinp_mode, float* dweight, const Bf16* dout, const Bf16* inp,
                             const Bf16* weight, int N, int IC, int OC, void* stream) {
  if (dinp != nullptr) {
    const bool accumulate_dinp = dinp_mode == InputGrad::accumulate;
    impl_->run({IC, N, OC, false, false, false, accumulate_dinp}, weight, dout, dinp, accumulate_dinp ? 1.0f : 0.0f,
               stream);
  }
  impl_->run({IC, OC, N, false, true, true, true}, inp, dout, dweight, 1.0f, stream);
}

}  // namespace awsdt::kernels::cuda
