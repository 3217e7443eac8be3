// RoPE (rotate-half convention) forward and backward, in place.
#include "kernels/cpu/llama_rope.hpp"

#include <cmath>
#include <cstddef>

#include "util/error.hpp"

namespace awsdt::kernels::cpu {
namespace {

// Rotates every head vector by +angle (sign = 1) or −angle (sign = −1).
template <typename T>
void rotate(T* x, const RopeTable<T>& table, int B, int T_len, int H, int head_dim, T sign) {
  AWSDT_CHECK(head_dim == 2 * table.half, "RoPE table built for another head_dim");
  AWSDT_CHECK(T_len <= table.max_pos, "sequence longer than the RoPE table");
  const int half = table.half;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T_len; ++t) {
      const T* cs = table.cos.data() + static_cast<std::size_t>(t) * half;
      const T* sn = table.sin.data() + static_cast<std::size_t>(t) * half;
      for (int h = 0; h < H; ++h) {
        T* v = x + ((static_cast<std::size_t>(b) * T_len + t) * H + h) * head_dim;
        for (int i = 0; i < half; ++i) {
          T x1 = v[i];
          T x2 = v[i + half];
          T s = sign * sn[i];
          v[i] = x1 * cs[i] - x2 * s;
          v[i + half] = x2 * cs[i] + x1 * s;
        }
      }
    }
  }
}

}  // namespace

template <typename T>
RopeTable<T> make_rope_table(int max_pos, int head_dim, double theta) {
  AWSDT_CHECK(head_dim % 2 == 0, "RoPE needs an even head_dim");
  RopeTable<T> table;
  table.max_pos = max_pos;
  table.half = head_dim / 2;
  table.cos.resize(static_cast<std::size_t>(max_pos) * table.half);
  table.sin.resize(table.cos.size());
  for (int p = 0; p < max_pos; ++p) {
    for (int i = 0; i < table.half; ++i) {
      double inv_freq = 1.0 / std::pow(theta, (2.0 * i) / head_dim);
      double angle = p * inv_freq;
      table.cos[static_cast<std::size_t>(p) * table.half + i] = static_cast<T>(std::cos(angle));
      table.sin[static_cast<std::size_t>(p) * table.half + i] = static_cast<T>(std::sin(angle));
    }
  }
  return table;
}

template <typename T>
void rope_forward(T* x, const RopeTable<T>& table, int B, int T_len, int H, int head_dim) {
  rotate(x, table, B, T_len, H, head_dim, T(1));
}

template <typename T>
void rope_backward(T* dx, const RopeTable<T>& table, int B, int T_len, int H, int head_dim) {
  rotate(dx, table, B, T_len, H, head_dim, T(-1));
}

template RopeTable<float> make_rope_table<float>(int, int, double);
template RopeTable<double> make_rope_table<double>(int, int, double);
template void rope_forward<float>(float*, const RopeTable<float>&, int, int, int, int);
template void rope_forward<double>(double*, const RopeTable<double>&, int, int, int, int);
template void rope_backward<float>(float*, const RopeTable<float>&, int, int, int, int);
template void rope_backward<double>(double*, const RopeTable<double>&, int, int, int, int);

}  // namespace awsdt::kernels::cpu
