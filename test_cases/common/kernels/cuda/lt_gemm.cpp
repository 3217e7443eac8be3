// cuBLASLt GEMMs with their descriptors and heuristic algorithm chosen once per distinct GEMM (shape,
// transposes, types, β, pointer alignment), and the row-major GemmEngine of kernels/gemm.hpp on top: row-major
// X[R,C] is column-major Xᵀ, so C = op(A)·op(B) is issued as Cᵀ = op(B)ᵀ·op(A)ᵀ.
#include "kernels/cuda/lt_gemm.hpp"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/check_cublas.hpp"
#include "kernels/gemm.hpp"

namespace awsdt::kernels::cuda {
namespace {

// 32 MiB: what NVIDIA recommends for cuBLASLt on Hopper (it lets the split-K and stream-K kernels run).
constexpr std::size_t kWorkspaceBytes = 32u << 20;

struct GemmKey {
  int m, n, k;
  bool trans_a, trans_b;
  DataType in, out;
  bool accumulate;
  std::uint32_t alignment = 256;  // bytes every pointer is aligned to (cuBLASLt assumes 256 unless told)
  auto tie() const { return std::tie(m, n, k, trans_a, trans_b, in, out, accumulate, alignment); }
  bool operator<(const GemmKey& o) const { return tie() < o.tie(); }
};

cudaDataType_t cuda_type(DataType t) {
  switch (t) {
    case DataType::bf16: return CUDA_R_16BF;
    case DataType::f16: return CUDA_R_16F;
    case DataType::f32: return CUDA_R_32F;
    default: AWSDT_THROW("cuBLASLt GEMMs here take bfloat16, half or float, not " + std::string(dtype_name(t)));
  }
}

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

struct LtGemm::Impl {
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
    AWSDT_CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&p->a, cuda_type(key.in), a_rows, a_cols, a_rows));
    AWSDT_CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&p->b, cuda_type(key.in), b_rows, b_cols, b_rows));
    AWSDT_CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&p->c, cuda_type(key.out), key.m, key.n, key.m));

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
      AWSDT_THROW("cuBLASLt has no " + std::string(dtype_name(key.in)) + " algorithm for a " + std::to_string(key.m) +
                  "x" + std::to_string(key.n) + "x" + std::to_string(key.k) + " GEMM (status " +
                  std::to_string(int(st)) + ")");
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

LtGemm::LtGemm() : impl_(std::make_unique<Impl>()) {}

LtGemm::~LtGemm() = default;

std::size_t LtGemm::workspace_bytes() { return kWorkspaceBytes; }

void LtGemm::run(int m, int n, int k, bool trans_a, bool trans_b, DataType in, DataType out, const void* a,
                 const void* b, void* c, float beta, void* stream) {
  impl_->run({m, n, k, trans_a, trans_b, in, out, beta != 0.0f}, a, b, c, beta, stream);
}

namespace {

class LtGemmEngine final : public GemmEngine {
 public:
  explicit LtGemmEngine(const Device& device) : device_(device) {}
  void run(const GemmShape& s, DataType dtype, const void* a, const void* b, void* c, float beta,
           Stream& stream) override {
    AWSDT_CHECK(dtype == DataType::bf16 || dtype == DataType::f16, "GPU GEMMs run in bfloat16 or half");
    device_.make_current();
    lt_.run(s.n, s.m, s.k, s.trans_b, s.trans_a, dtype, dtype, b, a, c, beta, stream.native_handle());
  }

 private:
  Device device_;
  LtGemm lt_;
};

}  // namespace

std::unique_ptr<GemmEngine> make_lt_gemm_engine(const Device& device) {
  device.make_current();
  return std::make_unique<LtGemmEngine>(device);
}

}  // namespace awsdt::kernels::cuda
