// The operands of awsdt-megatron gemm, identical on every rank without any communication: element (i, j) of
// global tensor `id` is a function of (id, i, j) alone, a multiple of 1/8 in [−1, 1]. Such values are exact in
// bf16 and fp16, their products are multiples of 1/64, and sums of up to 2^18 of them are exact in fp32: on CPUs
// every method equals the float64 reference bit for bit whatever its summation order; on GPUs after one
// rounding to the output type (ring's partial sums travel rounded: one rounding per step).
#pragma once

#include <cstdint>
#include <vector>

#include "comm/dtype.hpp"
#include "device/device.hpp"

namespace awsdt::megatron {

double operand_value(std::uint32_t id, std::int64_t row, std::int64_t col);

/// A block of a global tensor: rows [row0, row0 + rows) and columns [col0, col0 + cols).
struct Block {
  std::uint32_t id = 0;
  std::int64_t row0 = 0, col0 = 0;
  int rows = 0, cols = 0;
};

/// A buffer on `device` holding `block` row-major in `dtype` (written before return).
Buffer make_operand(const Device& device, DataType dtype, const Block& block);
/// A buffer's first `n` elements of `dtype`, widened to float on the host (waits for `stream` first).
std::vector<float> download(const Buffer& buffer, DataType dtype, std::size_t n, Stream& stream);

/// Σ_k A(a_row, a.col0 + k)·B(b.row0 + k, b_col) over k < K (a GEMM element), or with `a_transposed`
/// Σ_k A(a.row0 + k, a_col)·B(b.row0 + k, b_col) (a weight gradient: A's column a_col), in float64.
double reference_dot(const Block& a, std::int64_t a_index, const Block& b, std::int64_t b_col, int K,
                     bool a_transposed);

}  // namespace awsdt::megatron
