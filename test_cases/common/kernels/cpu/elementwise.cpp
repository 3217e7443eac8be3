// Element-wise CPU kernels (see elementwise.hpp).
#include "kernels/cpu/elementwise.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "util/error.hpp"
#include "util/half.hpp"

namespace awsdt::kernels::cpu {

void convert(void* dst, DataType dt, const void* src, DataType st, std::size_t n, Threads threads) {
  const bool team = threads == Threads::team;
  if (dt == st) return void(std::memcpy(dst, src, n * dtype_size(dt)));
  AWSDT_CHECK((dt == DataType::bf16 && st == DataType::f32) || (dt == DataType::f32 && st == DataType::bf16),
              "kernels::cpu::convert: only f32 <-> bf16");
  if (dt == DataType::bf16) {
    auto* d = static_cast<std::uint16_t*>(dst);
    const auto* x = static_cast<const float*>(src);
#pragma omp parallel for schedule(static) if (team)
    for (std::size_t i = 0; i < n; ++i) d[i] = float_to_bf16(x[i]);
  } else {
    auto* d = static_cast<float*>(dst);
    const auto* x = static_cast<const std::uint16_t*>(src);
#pragma omp parallel for schedule(static) if (team)
    for (std::size_t i = 0; i < n; ++i) d[i] = bf16_to_float(x[i]);
  }
}

void accumulate(float* acc, const void* src, DataType st, std::size_t n, Threads threads) {
  const bool team = threads == Threads::team;
  if (st == DataType::bf16) {
    const auto* x = static_cast<const std::uint16_t*>(src);
#pragma omp parallel for schedule(static) if (team)
    for (std::size_t i = 0; i < n; ++i) acc[i] += bf16_to_float(x[i]);
  } else {
    const auto* x = static_cast<const float*>(src);
#pragma omp parallel for schedule(static) if (team)
    for (std::size_t i = 0; i < n; ++i) acc[i] += x[i];
  }
}

void zero(void* dst, std::size_t bytes, Threads threads) {
  const bool team = threads == Threads::team;
  auto* f = static_cast<char*>(dst);
  constexpr std::size_t kBlock = 1 << 16;
  const std::size_t blocks = (bytes + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (team)
  for (std::size_t b = 0; b < blocks; ++b) std::memset(f + b * kBlock, 0, std::min(kBlock, bytes - b * kBlock));
}

}  // namespace awsdt::kernels::cpu
