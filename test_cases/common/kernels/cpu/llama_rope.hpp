// Rotary position embedding in the rotate-half convention of Hugging Face LlamaForCausalLM:
// within each head, element i pairs with element i + head_dim/2, rotated by pos · theta^(-2i/head_dim).
// Forward and backward work in place (the rotation is orthogonal, so the backward is the inverse rotation).
#pragma once

#include <vector>

namespace awsdt::kernels::cpu {

/// cos/sin tables for positions [0, T): each is [T, head_dim/2], computed in double then rounded to T.
template <typename T>
struct RopeTable {
  int max_pos = 0;     ///< positions covered
  int half = 0;        ///< head_dim / 2
  std::vector<T> cos;  ///< cos[pos * half + i]
  std::vector<T> sin;  ///< sin[pos * half + i]
};

/// Builds the table for max_pos positions (inverse frequencies as HF: 1 / theta^(2i/head_dim)).
template <typename T>
RopeTable<T> make_rope_table(int max_pos, int head_dim, double theta);
/// Rotates x[B,T,H,head_dim] in place; position of (b,t) is t.
template <typename T>
void rope_forward(T* x, const RopeTable<T>& table, int B, int T_len, int H, int head_dim);
/// Turns dx (gradient w.r.t. the rotated values) into the gradient w.r.t. the unrotated values, in place.
template <typename T>
void rope_backward(T* dx, const RopeTable<T>& table, int B, int T_len, int H, int head_dim);

}  // namespace awsdt::kernels::cpu
