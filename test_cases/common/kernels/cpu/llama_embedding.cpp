// Token embedding lookup and its backward (scatter-add into the table gradient).
#include "kernels/cpu/llama_embedding.hpp"

#include <cstddef>
#include <string>

#include "util/error.hpp"

namespace awsdt::kernels::cpu {

template <typename T>
void embedding_forward(T* out, const std::int32_t* tokens, const T* table, int N, int C, int V) {
  for (int n = 0; n < N; ++n) {
    std::int32_t tok = tokens[n];
    AWSDT_CHECK(tok >= 0 && tok < V,
                "token id " + std::to_string(tok) + " outside the vocabulary [0, " + std::to_string(V) + ")");
  }
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* row = table + static_cast<std::size_t>(tokens[n]) * C;
    T* o = out + static_cast<std::size_t>(n) * C;
    for (int c = 0; c < C; ++c) o[c] = row[c];
  }
}

template <typename T>
void embedding_backward(T* dtable, const std::int32_t* tokens, const T* dout, int N, int C) {
  for (int n = 0; n < N; ++n) {
    T* row = dtable + static_cast<std::size_t>(tokens[n]) * C;
    const T* d = dout + static_cast<std::size_t>(n) * C;
    for (int c = 0; c < C; ++c) row[c] += d[c];
  }
}

template void embedding_forward<float>(float*, const std::int32_t*, const float*, int, int, int);
template void embedding_forward<double>(double*, const std::int32_t*, const double*, int, int, int);
template void embedding_backward<float>(float*, const std::int32_t*, const float*, int, int);
template void embedding_backward<double>(double*, const std::int32_t*, const double*, int, int);

}  // namespace awsdt::kernels::cpu
