#include "core/float_types.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tessera {
namespace {

TEST(Float16, RoundTripsAndRounds) {
  for (float v : {0.f, 1.f, -2.5f, 65504.f, 6.103515625e-05f, 5.96046448e-08f, 0.333251953125f})
    EXPECT_EQ(half_to_float(float_to_half(v)), v) << v;
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(65520.f), 0x7c00);             // rounds to infinity
  EXPECT_EQ(float_to_half(1.00048828125f), 0x3c00);      // tie rounds to even
  EXPECT_EQ(float_to_half(1.00146484375f), 0x3c02);      // tie rounds to even (up)
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(NAN))));
  EXPECT_EQ(half_to_float(0x0001), 5.96046448e-08f);     // smallest subnormal
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(float_to_bfloat16(1.0f), 0x3f80);
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(3.140625f)), 3.140625f);
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(NAN))));
}

}  // namespace
}  // namespace tessera
