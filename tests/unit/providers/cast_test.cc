#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

OpCall cast_to(Tensor x, DataType to, std::vector<Attribute> extra = {}) {
  extra.push_back(attr_i("to", static_cast<int64_t>(to)));
  return OpCall("Cast", 25, {std::move(x)}, std::move(extra));
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const uint8_t* p = static_cast<const uint8_t*>(t.raw_data());
  return std::vector<uint8_t>(p, p + t.size());
}

TEST(FloatTypes, HalfRoundTripsEveryBitPattern) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float f = half_to_float(h);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(half_to_float(float_to_half(f)))) << std::hex << bits;
      continue;
    }
    ASSERT_EQ(float_to_half(f), h) << std::hex << bits;
  }
}

TEST(FloatTypes, HalfRoundsToNearestEven) {
  EXPECT_EQ(half_to_float(float_to_half(1.0f + std::ldexp(1.0f, -11))), 1.0f);
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11))), 1.0f + std::ldexp(1.0f, -9));
  EXPECT_EQ(half_to_float(float_to_half(65519.0f)), 65504.0f);
  EXPECT_EQ(half_to_float(float_to_half(65520.0f)), kInf);
  EXPECT_EQ(half_to_float(float_to_half(std::ldexp(1.0f, -25))), 0.0f);
  EXPECT_EQ(half_to_float(float_to_half(1.5f * std::ldexp(1.0f, -25))), std::ldexp(1.0f, -24));
}

TEST(FloatTypes, Float8CodesRoundTrip) {
  struct Format {
    float (*decode)(uint8_t);
    uint8_t (*encode)(float, bool);
    const char* name;
  };
  const Format formats[] = {{float8e4m3fn_to_float, float_to_float8e4m3fn, "e4m3fn"},
                            {float8e4m3fnuz_to_float, float_to_float8e4m3fnuz, "e4m3fnuz"},
                            {float8e5m2_to_float, float_to_float8e5m2, "e5m2"},
                            {float8e5m2fnuz_to_float, float_to_float8e5m2fnuz, "e5m2fnuz"}};
  for (const Format& f : formats) {
    for (int c = 0; c < 256; ++c) {
      const float v = f.decode(static_cast<uint8_t>(c));
      const uint8_t back = f.encode(v, false);
      if (std::isnan(v)) {
        EXPECT_TRUE(std::isnan(f.decode(back))) << f.name << " code " << c;
      } else {
        EXPECT_EQ(back, c) << f.name << " code " << c << " value " << v;
      }
    }
  }
  for (int c = 0; c < 16; ++c) EXPECT_EQ(float_to_float4e2m1(float4e2m1_to_float(static_cast<uint8_t>(c))), c);
}

TEST(FloatTypes, Float8LimitsAndSaturation) {
  EXPECT_EQ(float8e4m3fn_to_float(0x7e), 448.0f);
  EXPECT_EQ(float8e4m3fnuz_to_float(0x7f), 240.0f);
  EXPECT_EQ(float8e5m2_to_float(0x7b), 57344.0f);
  EXPECT_EQ(float8e5m2_to_float(0x7c), kInf);
  EXPECT_EQ(float_to_float8e4m3fn(1e6f, true), 0x7e);
  EXPECT_EQ(float_to_float8e4m3fn(1e6f, false), 0x7f);
  EXPECT_EQ(float_to_float8e4m3fn(-kInf, true), 0xfe);
  EXPECT_EQ(float_to_float8e5m2(kInf, false), 0x7c);
  EXPECT_EQ(float_to_float8e5m2fnuz(-kInf, false), 0x80);
  EXPECT_EQ(float_to_float8e4m3fnuz(-1e-7f, true), 0x00);  // no negative zero
  EXPECT_EQ(float_to_float8e4m3fn(-1e-7f, true), 0x80);
  EXPECT_EQ(float_to_float8e4m3fn(464.0f, false), 0x7e);  // tie between 448 and 480 goes to even
  EXPECT_EQ(float_to_float8e4m3fn(470.0f, false), 0x7f);  // rounds to 480: out of range
  EXPECT_EQ(float_to_float4e2m1(-3.5f), 0xe);             // tie between 3 and 4 goes to even (4)
  EXPECT_EQ(float_to_float4e2m1(kInf), 0x7);
  EXPECT_EQ(float8e8m0_to_float(127), 1.0f);
  EXPECT_EQ(float_to_float8e8m0(1.1f), 128);
  EXPECT_EQ(float_to_float8e8m0(0.0f, true), 0);
  EXPECT_EQ(float_to_float8e8m0(0.0f, false), 0xff);
}

TEST(Cast, FloatToFloat8MatchesConformanceData) {
  Tensor x = tf({5}, {0.47892547f, 1000000.0f, kNaN, -kInf, -1e-7f});
  EXPECT_EQ(bytes_of(run1(cast_to(x, DataType::float8e4m3fn))), (std::vector<uint8_t>{0x2f, 0x7e, 0x7f, 0xfe, 0x80}));
  EXPECT_EQ(bytes_of(run1(cast_to(x, DataType::float8e4m3fnuz, {attr_i("saturate", 0)}))),
            (std::vector<uint8_t>{0x37, 0x80, 0x80, 0x80, 0x00}));
  EXPECT_EQ(bytes_of(run1(cast_to(x, DataType::float8e5m2, {attr_i("saturate", 0)}))),
            (std::vector<uint8_t>{0x38, 0x7c, 0x7e, 0xfc, 0x80}));
  Tensor back = run1(cast_to(make<uint8_t>(DataType::float8e4m3fn, {2}, {0x2f, 0xfe}), DataType::float16));
  EXPECT_EQ(floats_of(back), (std::vector<float>{0.46875f, -448.0f}));
}

TEST(Cast, E8M0RoundModes) {
  Tensor x = tf({4}, {1.5f, 1.4f, 0.25f, 3.0e38f});
  auto run_mode = [&](const char* mode) {
    return bytes_of(run1(cast_to(x, DataType::float8e8m0, {attr_s("round_mode", mode)})));
  };
  EXPECT_EQ(run_mode("up"), (std::vector<uint8_t>{128, 128, 125, 0xfe}));
  EXPECT_EQ(run_mode("down"), (std::vector<uint8_t>{127, 127, 125, 254}));
  EXPECT_EQ(run_mode("nearest"), (std::vector<uint8_t>{128, 127, 125, 0xfe}));
  expect_error(cast_to(x, DataType::float8e8m0, {attr_s("round_mode", "sideways")}), "round_mode");
}

TEST(Cast, SmallIntsWrapAndSignExtend) {
  std::vector<float> in;
  for (int v = -9; v < 16; ++v) in.push_back(static_cast<float>(v));
  Tensor i4 = run1(cast_to(tf({25}, in), DataType::int4));
  expect_shape(i4, DataType::int4, {25});
  std::vector<int8_t> want_i4, want_u2;
  for (int v = -9; v < 16; ++v) want_i4.push_back(static_cast<int8_t>(((v & 0xf) ^ 8) - 8));
  EXPECT_EQ(values_of<int8_t>(i4), want_i4);
  Tensor u4 = run1(cast_to(tf({3}, {-1, 16, 7}), DataType::uint4));
  EXPECT_EQ(bytes_of(u4), (std::vector<uint8_t>{15, 0, 7}));
  Tensor i2 = run1(cast_to(tf({7}, {-3, -2, -1, 0, 1, 2, 3}), DataType::int2));
  EXPECT_EQ(values_of<int8_t>(i2), (std::vector<int8_t>{1, -2, -1, 0, 1, -2, -1}));
  // int4 storage reads back as its signed value.
  Tensor f = run1(cast_to(make<int8_t>(DataType::int4, {3}, {-8, -1, 7}), DataType::float32));
  EXPECT_EQ(values_of<float>(f), (std::vector<float>{-8, -1, 7}));
}

TEST(Cast, NumericConversions) {
  EXPECT_EQ(values_of<int8_t>(run1(cast_to(ti32({3}, {200, -129, 5}), DataType::int8))), (std::vector<int8_t>{-56, 127, 5}));
  EXPECT_EQ(values_of<int32_t>(run1(cast_to(tf({4}, {2.9f, -2.9f, 1e10f, kNaN}), DataType::int32))),
            (std::vector<int32_t>{2, -2, INT32_MIN, INT32_MIN}));
  EXPECT_EQ(bools_of(run1(cast_to(tf({4}, {0, -0.0f, 0.1f, kNaN}), DataType::boolean))),
            (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(values_of<double>(run1(cast_to(tb({2}, {true, false}), DataType::float64))), (std::vector<double>{1, 0}));
  Tensor bf = run1(cast_to(th({2}, {1.5f, -65504.0f}), DataType::bfloat16));
  EXPECT_EQ(floats_of(bf), (std::vector<float>{1.5f, -65536.0f}));
  Tensor u64 = run1(cast_to(td({2}, {1.8e19, 3.0}), DataType::uint64));
  EXPECT_EQ(values_of<uint64_t>(u64), (std::vector<uint64_t>{18000000000000000000ull, 3}));
}

TEST(Cast, DoubleToHalfRoundsOnce) {
  // 1 + 2^-11 + 2^-40 is just above the float16 halfway point between 1 and 1 + 2^-10; through
  // a float (round to nearest) it would land on the tie and round down to 1.
  const double v = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  Tensor h = run1(cast_to(td({1}, {v}), DataType::float16));
  EXPECT_EQ(floats_of(h), (std::vector<float>{1.0f + std::ldexp(1.0f, -10)}));
  // int64 beyond 2^24 into bfloat16: 2^24 + 2^16 + 1 is above the tie between 2^24 and 2^24 + 2^17.
  Tensor b = run1(cast_to(ti64({1}, {(1 << 24) + (1 << 16) + 1}), DataType::bfloat16));
  EXPECT_EQ(floats_of(b), (std::vector<float>{16777216.0f + 131072.0f}));
}

TEST(Cast, SameTypeForwardsTheInput) {
  Tensor x = tf({2}, {1, 2});
  Tensor y = run1(cast_to(x, DataType::float32));
  EXPECT_TRUE(y.shares_buffer_with(x));
}

TEST(Cast, NumbersToStringsLikeNumpy) {
  Tensor f = tf({17}, {0.1f, 1e-5f, 1e20f, 100, 1.5e16f, 1e16f, 0.0001f, 123456.789f, -0.0f, 3.4028235e38f, 1.17549435e-38f,
                       1e-45f, -2.5f, 1234567.0f, 0.30000001f, 16777216.0f, 7.0e-4f});
  EXPECT_EQ(values_of<std::string>(run1(cast_to(f, DataType::string))),
            (std::vector<std::string>{"0.1", "1e-05", "1e+20", "100.0", "1.5e+16", "1e+16", "1e-04", "123456.79", "-0.0",
                                      "3.4028235e+38", "1.1754944e-38", "1e-45", "-2.5", "1234567.0", "0.3", "16777216.0",
                                      "0.0007"}));
  Tensor d = td({9}, {1.0 / 3, 1e16, 1e-5, 9999999999999998.0, 1e-4, 1e100, -1e-300, 1152921504606846976.0, 0.1 + 0.2});
  EXPECT_EQ(values_of<std::string>(run1(cast_to(d, DataType::string))),
            (std::vector<std::string>{"0.3333333333333333", "1e+16", "1e-05", "9999999999999998.0", "0.0001", "1e+100",
                                      "-1e-300", "1.152921504606847e+18", "0.30000000000000004"}));
  Tensor h = th({8}, {0.1f, 1.0f / 3, 65504, 6e-8f, 1e-4f, 0.00011f, -2.0f, 1000.0f});
  EXPECT_EQ(values_of<std::string>(run1(cast_to(h, DataType::string))),
            (std::vector<std::string>{"0.1", "0.3333", "65500.0", "6e-08", "0.0001", "0.00011", "-2.0", "1000.0"}));
  EXPECT_EQ(values_of<std::string>(run1(cast_to(tf({3}, {kNaN, kInf, -kInf}), DataType::string))),
            (std::vector<std::string>{"nan", "inf", "-inf"}));
  EXPECT_EQ(values_of<std::string>(run1(cast_to(ti64({3}, {-5, 0, 4611686018427387904}), DataType::string))),
            (std::vector<std::string>{"-5", "0", "4611686018427387904"}));
  EXPECT_EQ(values_of<std::string>(run1(cast_to(tb({2}, {true, false}), DataType::string))),
            (std::vector<std::string>{"True", "False"}));
}

TEST(Cast, StringsToNumbers) {
  Tensor s = ts({7}, {"1.5", "-3", "1e3", "INF", "-inf", "NaN", "+INF"});
  expect_near_all(values_of<float>(run1(cast_to(s, DataType::float32))), {1.5f, -3, 1000, kInf, -kInf, kNaN, kInf});
  EXPECT_EQ(values_of<int64_t>(run1(cast_to(ts({3}, {"12", "-9223372036854775808", "100.5"}), DataType::int64))),
            (std::vector<int64_t>{12, INT64_MIN, 100}));
  EXPECT_EQ(bools_of(run1(cast_to(ts({4}, {"0", "1", "True", "false"}), DataType::boolean))),
            (std::vector<bool>{false, true, true, false}));
  Tensor h = run1(cast_to(ts({1}, {"0.1"}), DataType::float16));
  EXPECT_EQ(floats_of(h), (std::vector<float>{half_to_float(float_to_half(0.1f))}));
  expect_error(cast_to(ts({1}, {"Hello"}), DataType::float32), "Hello");
}

TEST(Cast, CastLikeTakesTheTargetType) {
  Tensor y = run1(OpCall("CastLike", 19, {tf({2}, {1.25f, -3.75f}), ti32({0}, {})}));
  expect_shape(y, DataType::int32, {2});
  EXPECT_EQ(values_of<int32_t>(y), (std::vector<int32_t>{1, -3}));
  Tensor z = run1(OpCall("CastLike", 19, {tf({1}, {1e6f}), make<uint8_t>(DataType::float8e4m3fn, {1}, {0})},
                         {attr_i("saturate", 0)}));
  EXPECT_EQ(bytes_of(z), (std::vector<uint8_t>{0x7f}));
}

TEST(Cast, BadTargetTypeIsAnError) {
  expect_error(OpCall("Cast", 21, {tf({1}, {1})}, {attr_i("to", 14)}), "attribute 'to' (14)");
  expect_error(OpCall("Cast", 21, {tf({1}, {1})}, {attr_i("to", 99)}), "attribute 'to' (99)");
  expect_error(OpCall("Cast", 21, {tf({1}, {1})}), "'to' is missing");
}

TEST(Cast, LegacyStringTypeName) {
  Tensor y = run1(OpCall("Cast", 1, {tf({2}, {1.5f, 2.5f})}, {attr_s("to", "INT64")}));
  EXPECT_EQ(values_of<int64_t>(y), (std::vector<int64_t>{1, 2}));
  Tensor d = run1(OpCall("Cast", 1, {ti32({1}, {3})}, {attr_s("to", "DOUBLE")}));
  EXPECT_EQ(d.dtype(), DataType::float64);
}

}  // namespace
}  // namespace tessera::kernel_test
