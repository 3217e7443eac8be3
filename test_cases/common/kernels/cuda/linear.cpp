// cuBLASLt linears (through LtGemm). Row-major X[R,C] is column-major Xᵀ, so each row-major product is issued
// as its transpose:
//   forward   outᵀ[OC,N]  = W_cm[IC,OC]ᵀ · inp_cm[IC,N]     (m=OC, n=N,  k=IC; A transposed)
//   dinp      dinpᵀ[IC,N] = W_cm[IC,OC] · dout_cm[OC,N]     (m=IC, n=N,  k=OC)
//   dweight   dWᵀ[IC,OC] += inp_cm[IC,N] · dout_cm[OC,N]ᵀ   (m=IC, n=OC, k=N;  B transposed, fp32 C/D, β=1)
#include "kernels/cuda/linear.hpp"

#include "kernels/cuda/lt_gemm.hpp"

namespace awsdt::kernels::cuda {

struct LinearContext::Impl {
  LtGemm lt;
};

LinearContext::LinearContext() : impl_(std::make_unique<Impl>()) {}

LinearContext::~LinearContext() = default;

std::size_t LinearContext::workspace_bytes() { return LtGemm::workspace_bytes(); }

void LinearContext::forward(Bf16* out, const Bf16* inp, const Bf16* weight, int N, int IC, int OC, void* stream) {
  impl_->lt.run(OC, N, IC, true, false, DataType::bf16, DataType::bf16, weight, inp, out, 0.0f, stream);
}

void LinearContext::backward(Bf16* dinp, InputGrad dinp_mode, float* dweight, const Bf16* dout, const Bf16* inp,
                             const Bf16* weight, int N, int IC, int OC, void* stream) {
  if (dinp != nullptr) {
    const float beta = dinp_mode == InputGrad::accumulate ? 1.0f : 0.0f;
    impl_->lt.run(IC, N, OC, false, false, DataType::bf16, DataType::bf16, weight, dout, dinp, beta, stream);
  }
  impl_->lt.run(IC, OC, N, false, true, DataType::bf16, DataType::f32, inp, dout, dweight, 1.0f, stream);
}

}  // namespace awsdt::kernels::cuda
