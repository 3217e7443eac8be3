// IEEE binary16 and bfloat16 conversions (round to nearest even, NaN kept quiet), usable from host and CUDA
// device code alike so that CPU references and GPU kernels share one definition.
#pragma once

#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define AWSDT_HD __host__ __device__
#else
#define AWSDT_HD
#endif

namespace awsdt {

AWSDT_HD inline std::uint32_t float_bits(float f) {
  std::uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
AWSDT_HD inline float bits_float(std::uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

AWSDT_HD inline float bf16_to_float(std::uint16_t h) { return bits_float(std::uint32_t(h) << 16); }

AWSDT_HD inline std::uint16_t float_to_bf16(float f) {
  std::uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return std::uint16_t(u >> 16);
}

AWSDT_HD inline float half_to_float(std::uint16_t h) {
  std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  if (exp == 0) {
    float v = float(mant) * (1.0f / 16777216.0f);  // subnormal: mant * 2^-24 (exact)
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

AWSDT_HD inline std::uint16_t float_to_half(float f) {
  std::uint32_t u = float_bits(f);
  std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
  std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);   // NaN
  if (abs >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // rounds to infinity
  if (abs < 0x38800000u) {                                       // half subnormal or zero
    float v = bits_float(abs) * 16777216.0f;                     // exact: the mantissa becomes an integer
    std::uint32_t m = std::uint32_t(v);
    float rem = v - float(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1u))) ++m;
    return std::uint16_t(sign | m);
  }
  std::uint32_t mant = abs & 0x7fffffu;
  std::uint32_t exp = (abs >> 23) - 112;
  std::uint32_t h = (exp << 10) | (mant >> 13);
  std::uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is still correct
  return std::uint16_t(sign | h);
}

}  // namespace awsdt
