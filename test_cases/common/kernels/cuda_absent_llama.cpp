// Stand-ins for the CUDA layers of the Llama engine (kernels/cuda/llama_*.cu, adamw.cu, linear.cpp) in builds
// without CUDA: CUDA streams and device memory cannot exist there, so these are unreachable in practice; they
// fail loudly rather than silently.
#include "kernels/cuda/chunked_attention.hpp"
#include "kernels/cuda/linear.hpp"
#include "kernels/cuda/llama_attention.hpp"
#include "kernels/cuda/llama_layers.hpp"
#include "util/error.hpp"

namespace awsdt::kernels::cuda {
namespace {

[[noreturn]] void no_cuda() { AWSDT_THROW("this build of awsdt has no CUDA kernels (configured without CUDA)"); }

}  // namespace

// ---- kernels/cuda/llama_layers.hpp: llama_norm.cu, llama_elementwise.cu, llama_cross_entropy.cu, adamw.cu ----

void embedding_forward(Bf16*, const std::int32_t*, const Bf16*, int, int, void*) { no_cuda(); }
void embedding_backward(float*, const std::int32_t*, const Bf16*, int, int, void*) { no_cuda(); }

void rmsnorm_forward(Bf16*, float*, const Bf16*, const Bf16*, int, int, float, void*) { no_cuda(); }
void rmsnorm_backward(Bf16*, float*, const Bf16*, const Bf16*, const Bf16*, const float*, int, int, void*) {
  no_cuda();
}

void rope_forward(Bf16*, const float*, const float*, int, int, int, int, void*) { no_cuda(); }
void rope_backward(Bf16*, const float*, const float*, int, int, int, int, void*) { no_cuda(); }

void swiglu_forward(Bf16*, const Bf16*, const Bf16*, std::size_t, void*) { no_cuda(); }
void swiglu_backward(Bf16*, Bf16*, const Bf16*, const Bf16*, const Bf16*, std::size_t, void*) { no_cuda(); }

void residual_forward(Bf16*, const Bf16*, const Bf16*, std::size_t, void*) { no_cuda(); }

void cross_entropy_fused(Bf16*, float*, const Bf16*, const std::int32_t*, int, int, float, void*) { no_cuda(); }

void cast_to_bf16(Bf16*, const float*, std::size_t, void*) { no_cuda(); }
void cast_to_f32(float*, const Bf16*, std::size_t, void*) { no_cuda(); }

void add_sum_of_squares(double*, const float*, std::size_t, void*) { no_cuda(); }
void accumulate(float*, const float*, std::size_t, void*) { no_cuda(); }
void accumulate(float*, const Bf16*, std::size_t, void*) { no_cuda(); }
void adamw_step(float*, Bf16*, const float*, float*, float*, std::size_t, const AdamWScalars&, void*) { no_cuda(); }

// ---- kernels/cuda/llama_attention.hpp (llama_attention.cu), chunked_attention.hpp (chunked_attention.cu) and kernels/cuda/linear.hpp (linear.cpp) ----

void attention_forward(Bf16*, float*, const Bf16*, const Bf16*, const Bf16*, const AttentionShape&, void*) {
  no_cuda();
}
void attention_backward(Bf16*, Bf16*, Bf16*, const Bf16*, const Bf16*, const Bf16*, const Bf16*, const Bf16*,
                        const float*, float*, const AttentionShape&, void*) {
  no_cuda();
}

void attention_output_dot(float*, const Bf16*, const Bf16*, const AttentionShape&, void*) { no_cuda(); }
void chunked_attention_forward(Bf16*, float*, const Bf16*, const Bf16*, const Bf16*, const AttentionShape&, void*,
                               void*, std::size_t) {
  no_cuda();
}
void chunked_attention_backward(Bf16*, Bf16*, Bf16*, const Bf16*, const Bf16*, const Bf16*, const Bf16*,
                                const Bf16*, const float*, float*, const AttentionShape&, void*, void*,
                                std::size_t) {
  no_cuda();
}

struct LinearContext::Impl {};
LinearContext::LinearContext() { no_cuda(); }
LinearContext::~LinearContext() = default;
std::size_t LinearContext::workspace_bytes() { return 0; }
void LinearContext::forward(Bf16*, const Bf16*, const Bf16*, int, int, int, void*) { no_cuda(); }
void LinearContext::backward(Bf16*, bool, float*, const Bf16*, const Bf16*, const Bf16*, int, int, int, void*) {
  no_cuda();
}

}  // namespace awsdt::kernels::cuda
