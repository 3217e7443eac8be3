// Deterministic operands (see operands.hpp).
#include "operands.hpp"

#include <cstring>

#include "util/half.hpp"

namespace awsdt::megatron {

double operand_value(std::uint32_t id, std::int64_t row, std::int64_t col) {
  std::uint64_t x = (std::uint64_t(id) << 48) ^ (std::uint64_t(row) * 0x9E3779B97F4A7C15ull) ^
                    (std::uint64_t(col) * 0xC2B2AE3D27D4EB4Full);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 29;
  return (static_cast<int>(x % 17) - 8) / 8.0;
}

Buffer make_operand(const Device& device, DataType dtype, const Block& b) {
  const std::size_t n = std::size_t(b.rows) * b.cols, esize = dtype_size(dtype);
  std::vector<char> host(n * esize);
  for (int i = 0; i < b.rows; ++i) {
    for (int j = 0; j < b.cols; ++j) {
      const float v = static_cast<float>(operand_value(b.id, b.row0 + i, b.col0 + j));
      const std::size_t e = std::size_t(i) * b.cols + j;
      if (dtype == DataType::f32) {
        std::memcpy(host.data() + e * 4, &v, 4);
      } else {
        const std::uint16_t h = dtype == DataType::bf16 ? float_to_bf16(v) : float_to_half(v);
        std::memcpy(host.data() + e * 2, &h, 2);
      }
    }
  }
  Buffer buffer = Buffer::on(device, std::max<std::size_t>(host.size(), 1));
  Stream stream(device);
  copy_async(buffer.data(), host.data(), host.size(), stream);
  stream.synchronize();
  return buffer;
}

std::vector<float> download(const Buffer& buffer, DataType dtype, std::size_t n, Stream& stream) {
  const std::size_t esize = dtype_size(dtype);
  std::vector<char> host(n * esize);
  copy_async(host.data(), buffer.data(), host.size(), stream);
  stream.synchronize();
  std::vector<float> out(n);
  for (std::size_t e = 0; e < n; ++e) {
    if (dtype == DataType::f32) {
      std::memcpy(&out[e], host.data() + e * 4, 4);
    } else {
      std::uint16_t h;
      std::memcpy(&h, host.data() + e * 2, 2);
      out[e] = dtype == DataType::bf16 ? bf16_to_float(h) : half_to_float(h);
    }
  }
  return out;
}

double reference_dot(const Block& a, std::int64_t a_index, const Block& b, std::int64_t b_col, int K,
                     bool a_transposed) {
  double sum = 0;
  for (int k = 0; k < K; ++k) {
    const double av =
        a_transposed ? operand_value(a.id, a.row0 + k, a_index) : operand_value(a.id, a_index, a.col0 + k);
    sum += av * operand_value(b.id, b.row0 + k, b_col);
  }
  return sum;
}

}  // namespace awsdt::megatron
