// f16/bf16 conversions against independent references: GCC's _Float16 for half, and exhaustive round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "util/half.hpp"

using namespace awsdt;

TEST(Half, MatchesCompilerFloat16ForManyFloats) {
  // Walk a dense sweep of float bit patterns across the half range, including subnormals and overflow.
  for (std::uint32_t u = 0x33000000u; u < 0x47900000u; u += 0x1F3u) {
    for (float sign : {1.0f, -1.0f}) {
      float f;
      std::memcpy(&f, &u, 4);
      f *= sign;
      _Float16 ref = static_cast<_Float16>(f);
      std::uint16_t ref_bits;
      std::memcpy(&ref_bits, &ref, 2);
      ASSERT_EQ(float_to_half(f), ref_bits) << "f=" << f;
    }
  }
}

TEST(Half, RoundTripsEveryHalf) {
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    float f = half_to_float(std::uint16_t(h));
    _Float16 ref;
    std::uint16_t hb = std::uint16_t(h);
    std::memcpy(&ref, &hb, 2);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(float(ref)));
      continue;
    }
    ASSERT_EQ(f, float(ref)) << "h=" << h;
    ASSERT_EQ(float_to_half(f), h);
  }
}

TEST(Bf16, RoundTripsEveryBf16AndRoundsToNearestEven) {
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    float f = bf16_to_float(std::uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_bf16(f), h);
  }
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.00390625f)), 1.0f);       // tie, rounds to even
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.01171875f)), 1.015625f);  // tie, rounds up to even
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0042f)), 1.0078125f);     // above the tie
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
}
