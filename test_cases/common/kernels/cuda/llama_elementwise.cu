// Element-wise CUDA layers of the Llama decoder (embedding, RoPE, SwiGLU, residual add, bf16 <-> fp32 casts):
// bf16 values, fp32 arithmetic, grid-stride loops. CPU references: kernels/cpu/llama_{embedding,rope,swiglu,
// residual}; contract: kernels/cuda/llama_layers.hpp.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/cuda/llama_layers.hpp"
#include "util/half.hpp"

namespace awsdt::kernels::cuda {
namespace {

using bf16 = __nv_bfloat16;

__global__ void embedding_forward_kernel(Bf16* out, const std::int32_t* tokens, const Bf16* table, int N, int C) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  for (std::size_t i = first_index(); i < total; i += grid_stride()) {
    const std::size_t n = i / C, c = i % C;
    out[i] = table[static_cast<std::size_t>(tokens[n]) * C + c];  // a plain copy of the bit pattern
  }
}

__global__ void embedding_backward_kernel(float* dtable, const std::int32_t* tokens, const bf16* dout, int N, int C) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  for (std::size_t i = first_index(); i < total; i += grid_stride()) {
    const std::size_t n = i / C, c = i % C;
    // Atomic: several positions of the batch may hold the same token, hence write the same row.
    atomicAdd(dtable + static_cast<std::size_t>(tokens[n]) * C + c, __bfloat162float(dout[i]));
  }
}

// One thread per (b, t, h, i < half) pair: it reads both elements i and i + half before writing either, so the
// in-place rotation has no race. sign = +1 rotates forward, −1 applies the inverse (transposed) rotation.
__global__ void rope_kernel(bf16* x, const float* cos_table, const float* sin_table, int B, int T, int H, int head_dim,
                            float sign) {
  const int half = head_dim / 2;
  const std::size_t pairs = static_cast<std::size_t>(B) * T * H * half;
  for (std::size_t p = first_index(); p < pairs; p += grid_stride()) {
    const int i = static_cast<int>(p % half);
    const std::size_t head = p / half;  // index of (b, t, h)
    const int t = static_cast<int>((head / H) % T);
    bf16* v = x + head * head_dim;
    const float c = cos_table[static_cast<std::size_t>(t) * half + i];
    const float s = sign * sin_table[static_cast<std::size_t>(t) * half + i];
    const float x1 = __bfloat162float(v[i]);
    const float x2 = __bfloat162float(v[i + half]);
    v[i] = __float2bfloat16_rn(x1 * c - x2 * s);
    v[i + half] = __float2bfloat16_rn(x2 * c + x1 * s);
  }
}

// expf rather than __expf: the fast version loses accuracy for large |g|, and this is memory-bound anyway.
__device__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

__global__ void swiglu_forward_kernel(bf16* out, const bf16* gate, const bf16* up, std::size_t count) {
  for (std::size_t i = first_index(); i < count; i += grid_stride()) {
    const float g = __bfloat162float(gate[i]);
    out[i] = __float2bfloat16_rn(g * sigmoid(g) * __bfloat162float(up[i]));
  }
}

__global__ void swiglu_backward_kernel(bf16* dgate, bf16* dup, const bf16* dout, const bf16* gate, const bf16* up,
                                       std::size_t count) {
  for (std::size_t i = first_index(); i < count; i += grid_stride()) {
    const float g = __bfloat162float(gate[i]);
    const float u = __bfloat162float(up[i]);
    const float d = __bfloat162float(dout[i]);
    const float sig = sigmoid(g);
    const float silu = g * sig;
    const float dsilu = sig * (1.0f + g * (1.0f - sig));  // d/dg of g·sigmoid(g)
    // All inputs are read before anything is written, so even dgate/dup aliasing gate/up would be safe.
    dgate[i] = __float2bfloat16_rn(d * u * dsilu);
    dup[i] = __float2bfloat16_rn(d * silu);
  }
}

__global__ void residual_forward_kernel(bf16* out, const bf16* a, const bf16* b, std::size_t count) {
  // Each element is read and written by the same thread: out may alias a or b.
  for (std::size_t i = first_index(); i < count; i += grid_stride())
    out[i] = __float2bfloat16_rn(__bfloat162float(a[i]) + __bfloat162float(b[i]));
}

// util/half.hpp's conversion, so the bits (NaN payloads included) equal the host's float_to_bf16.
__global__ void cast_to_bf16_kernel(Bf16* out, const float* in, std::size_t count) {
  for (std::size_t i = first_index(); i < count; i += grid_stride()) out[i] = float_to_bf16(in[i]);
}

__global__ void cast_to_f32_kernel(float* out, const Bf16* in, std::size_t count) {
  for (std::size_t i = first_index(); i < count; i += grid_stride()) out[i] = bf16_to_float(in[i]);
}

const bf16* as_bf16(const Bf16* p) { return reinterpret_cast<const bf16*>(p); }
bf16* as_bf16(Bf16* p) { return reinterpret_cast<bf16*>(p); }
cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

}  // namespace

void embedding_forward(Bf16* out, const std::int32_t* tokens, const Bf16* table, int N, int C, void* stream) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  if (N <= 0 || C <= 0) return;  // nothing to do (and a zero-sized grid would be a launch error)
  embedding_forward_kernel<<<grid_for(total), kThreads, 0, as_stream(stream)>>>(out, tokens, table, N, C);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void embedding_backward(float* dtable, const std::int32_t* tokens, const Bf16* dout, int N, int C, void* stream) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  if (N <= 0 || C <= 0) return;
  embedding_backward_kernel<<<grid_for(total), kThreads, 0, as_stream(stream)>>>(dtable, tokens, as_bf16(dout), N, C);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void rope_forward(Bf16* x, const float* cos, const float* sin, int B, int T, int H, int head_dim, void* stream) {
  AWSDT_CHECK(head_dim % 2 == 0, "RoPE needs an even head_dim");
  const std::size_t pairs = static_cast<std::size_t>(B) * T * H * (head_dim / 2);
  if (B <= 0 || T <= 0 || H <= 0 || head_dim <= 0) return;
  rope_kernel<<<grid_for(pairs), kThreads, 0, as_stream(stream)>>>(as_bf16(x), cos, sin, B, T, H, head_dim, 1.0f);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void rope_backward(Bf16* dx, const float* cos, const float* sin, int B, int T, int H, int head_dim, void* stream) {
  AWSDT_CHECK(head_dim % 2 == 0, "RoPE needs an even head_dim");
  const std::size_t pairs = static_cast<std::size_t>(B) * T * H * (head_dim / 2);
  if (B <= 0 || T <= 0 || H <= 0 || head_dim <= 0) return;
  rope_kernel<<<grid_for(pairs), kThreads, 0, as_stream(stream)>>>(as_bf16(dx), cos, sin, B, T, H, head_dim, -1.0f);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void swiglu_forward(Bf16* out, const Bf16* gate, const Bf16* up, std::size_t count, void* stream) {
  if (count == 0) return;
  swiglu_forward_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(as_bf16(out), as_bf16(gate), as_bf16(up),
                                                                             count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void swiglu_backward(Bf16* dgate, Bf16* dup, const Bf16* dout, const Bf16* gate, const Bf16* up, std::size_t count,
                     void* stream) {
  if (count == 0) return;
  swiglu_backward_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(
      as_bf16(dgate), as_bf16(dup), as_bf16(dout), as_bf16(gate), as_bf16(up), count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void residual_forward(Bf16* out, const Bf16* a, const Bf16* b, std::size_t count, void* stream) {
  if (count == 0) return;
  residual_forward_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(as_bf16(out), as_bf16(a), as_bf16(b),
                                                                               count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void cast_to_bf16(Bf16* out, const float* in, std::size_t count, void* stream) {
  if (count == 0) return;
  cast_to_bf16_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(out, in, count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void cast_to_f32(float* out, const Bf16* in, std::size_t count, void* stream) {
  if (count == 0) return;
  cast_to_f32_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(out, in, count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

}  // namespace awsdt::kernels::cuda
