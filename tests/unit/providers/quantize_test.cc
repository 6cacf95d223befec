// QuantizeLinear / DequantizeLinear (per-tensor, per-axis, blocked; integer, sub-byte and float8
// types), DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv.
#include <cmath>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

Tensor tu8(Shape shape, const std::vector<uint8_t>& v) { return make<uint8_t>(DataType::uint8, std::move(shape), v); }
Tensor ti8(Shape shape, const std::vector<int8_t>& v) { return make<int8_t>(DataType::int8, std::move(shape), v); }

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturates) {
  Tensor x = tf({7}, {0, 1, 3, 5, 1000, -1000, -3});
  Tensor y = run1({"QuantizeLinear", 13, {x, tf({}, {2}), tu8({}, {128})}});
  ASSERT_EQ(y.dtype(), DataType::uint8);
  // 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -1.5 -> -2.
  EXPECT_EQ(values_of<uint8_t>(y), (std::vector<uint8_t>{128, 128, 130, 130, 255, 0, 126}));
  // No zero point: uint8 with zero point 0.
  EXPECT_EQ(values_of<uint8_t>(run1({"QuantizeLinear", 10, {tf({3}, {-1, 2, 600}), tf({}, {1})}})),
            (std::vector<uint8_t>{0, 2, 255}));
}

TEST(QuantizeLinear, PerAxisAndBlocked) {
  Tensor x = tf({2, 4}, {1, 2, 3, 4, -1, -2, -3, -4});
  Tensor per_axis = run1({"QuantizeLinear", 13, {x, tf({2}, {1, 2}), ti8({2}, {0, 10})}, {attr_i("axis", 0)}});
  EXPECT_EQ(values_of<int8_t>(per_axis), (std::vector<int8_t>{1, 2, 3, 4, 10, 9, 8, 8}));
  // Blocks of 2 along axis 1: scale [2, 2].
  Tensor blocked = run1({"QuantizeLinear", 21, {x, tf({2, 2}, {1, 2, 4, 1})},
                         {attr_i("axis", 1), attr_i("block_size", 2), attr_i("output_dtype", 5)}});
  ASSERT_EQ(blocked.dtype(), DataType::int16);
  EXPECT_EQ(values_of<int16_t>(blocked), (std::vector<int16_t>{1, 2, 2, 2, 0, 0, -3, -4}));
  expect_error({"QuantizeLinear", 21, {x, tf({2, 3}, {1, 1, 1, 1, 1, 1})}, {attr_i("axis", 1), attr_i("block_size", 2)}},
               "blocked scale");
  expect_error({"QuantizeLinear", 13, {x, tf({3}, {1, 1, 1})}, {attr_i("axis", 0)}}, "per-axis");
}

TEST(QuantizeLinear, SubByteAndFloat8) {
  Tensor x = tf({4}, {-20, -1, 6, 20});
  Tensor zp4 = zeros(DataType::int4, {});
  Tensor y4 = run1({"QuantizeLinear", 21, {x, tf({}, {1}), zp4}});
  ASSERT_EQ(y4.dtype(), DataType::int4);
  EXPECT_EQ(values_of<int8_t>(y4), (std::vector<int8_t>{-8, -1, 6, 7}));
  Tensor zp8 = zeros(DataType::float8e4m3fn, {});
  Tensor sat = run1({"QuantizeLinear", 19, {tf({2}, {1000, 1}), tf({}, {1}), zp8}});
  Tensor nosat = run1({"QuantizeLinear", 19, {tf({2}, {1000, 1}), tf({}, {1}), zp8}, {attr_i("saturate", 0)}});
  EXPECT_EQ(float8e4m3fn_to_float(sat.data<uint8_t>()[0]), 448.0f);
  EXPECT_TRUE(std::isnan(float8e4m3fn_to_float(nosat.data<uint8_t>()[0])));
  EXPECT_EQ(float8e4m3fn_to_float(sat.data<uint8_t>()[1]), 1.0f);
}

TEST(QuantizeLinear, ParallelMatchesSerial) {
  auto xv = noise(64 * 3 * 700, 9, -300, 300);
  for (int64_t axis : {0, 1}) {
    const int64_t n = axis == 0 ? 64 : 3;
    OpCall call{"QuantizeLinear", 21, {tf({64, 3, 700}, xv), tf({n}, noise(n, 3, 0.5f, 2)), ti8({n}, std::vector<int8_t>(n, 3))},
                {attr_i("axis", axis)}};
    Tensor a = run1(call);
    call.threads = 4;
    EXPECT_EQ(values_of<int8_t>(a), values_of<int8_t>(run1(call)));
  }
}

TEST(DequantizeLinear, IntegerFloat8AndOutputType) {
  expect_near(run1({"DequantizeLinear", 13, {tu8({4}, {0, 3, 128, 255}), tf({}, {2}), tu8({}, {128})}}), {4},
              {-256, -250, 0, 254});
  // Per-axis with int32 input (no zero point).
  expect_near(run1({"DequantizeLinear", 13, {ti32({2, 2}, {1, 2, 3, 4}), tf({2}, {0.5, 2})}, {attr_i("axis", 1)}}),
              {2, 2}, {0.5, 4, 1.5, 8});
  Tensor f8 = zeros(DataType::float8e5m2, {2});
  f8.data<uint8_t>()[0] = float_to_float8e5m2(3.0f);
  f8.data<uint8_t>()[1] = float_to_float8e5m2(-0.5f);
  Tensor y = run1({"DequantizeLinear", 23, {f8, tf({}, {2})}, {attr_i("output_dtype", 10)}});
  ASSERT_EQ(y.dtype(), DataType::float16);
  expect_near(y, {2}, {6, -1});
  expect_error({"DequantizeLinear", 13, {tu8({1}, {1}), tf({}, {1}), ti8({}, {0})}}, "zero point type");
}

TEST(DynamicQuantizeLinear, ScaleCoversZero) {
  auto r = run_op({"DynamicQuantizeLinear", 11, {tf({4}, {0, 2, -3, 1.5f})}, {}, {"y", "scale", "zp"}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const float scale = 5.0f / 255.0f;
  expect_near(r.value()[1].tensor(), {}, {scale});
  const uint8_t zp = r.value()[2].tensor().data<uint8_t>()[0];
  EXPECT_EQ(zp, 153);  // round(3 / scale)
  std::vector<uint8_t> want;
  for (float v : {0.0f, 2.0f, -3.0f, 1.5f}) want.push_back(static_cast<uint8_t>(std::nearbyint(v / scale) + zp));
  EXPECT_EQ(values_of<uint8_t>(r.value()[0].tensor()), want);
}

TEST(MatMulInteger, ZeroPointsPerRowAndBroadcastBatch) {
  Tensor a = tu8({2, 2}, {3, 4, 5, 6}), b = tu8({2, 2, 1}, {1, 2, 3, 4});
  Tensor y = run1({"MatMulInteger", 10, {a, b, tu8({2}, {1, 2}), tu8({}, {1})}});
  ASSERT_EQ(y.dtype(), DataType::int32);
  // A - zp = [[2,3],[3,4]]; B - 1 = [[0],[1]] and [[2],[3]].
  EXPECT_EQ(shape_to_string(y.shape()), "[2,2,1]");
  EXPECT_EQ(values_of<int32_t>(y), (std::vector<int32_t>{3, 4, 13, 18}));
}

TEST(QLinearMatMul, RequantizesWithRoundingAndClamp) {
  Tensor a = ti8({1, 2}, {10, -20}), b = ti8({2, 2}, {1, 2, 3, 127});
  // int product: [10 - 60, 20 - 2540] = [-50, -2520]; multiplier 0.5 * 0.25 / 0.125 = 1.
  Tensor y = run1({"QLinearMatMul", 21,
                   {a, tf({}, {0.5f}), ti8({}, {0}), b, tf({}, {0.25f}), ti8({}, {0}), tf({}, {0.125f}), ti8({}, {5})}});
  ASSERT_EQ(y.dtype(), DataType::int8);
  EXPECT_EQ(values_of<int8_t>(y), (std::vector<int8_t>{-45, -128}));
}

TEST(ConvInteger, PaddingAndPerChannelWeightZeroPoints) {
  Tensor x = tu8({1, 1, 2, 2}, {2, 3, 4, 5});
  Tensor w = tu8({2, 1, 1, 1}, {3, 7});
  Tensor y = run1({"ConvInteger", 10, {x, w, tu8({}, {1}), tu8({2}, {1, 5})}, {attr_ints("pads", {1, 0, 0, 0})}});
  ASSERT_EQ(y.dtype(), DataType::int32);
  EXPECT_EQ(shape_to_string(y.shape()), "[1,2,3,2]");
  // (x - 1) * (w - zp): channel 0 * 2, channel 1 * 2; first row is padding (x_zp - x_zp = 0).
  EXPECT_EQ(values_of<int32_t>(y), (std::vector<int32_t>{0, 0, 2, 4, 6, 8, 0, 0, 2, 4, 6, 8}));
}

TEST(QLinearConv, StridedGroupedWithBias) {
  // Two groups of one channel, 3x3 input, 2x2 kernel of ones, stride 1 -> 2x2 output.
  std::vector<uint8_t> xv(18);
  for (int i = 0; i < 18; ++i) xv[i] = static_cast<uint8_t>(i);
  Tensor x = tu8({1, 2, 3, 3}, xv), w = tu8({2, 1, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 1});
  Tensor y = run1({"QLinearConv", 10,
                   {x, tf({}, {1}), tu8({}, {0}), w, tf({}, {1}), tu8({}, {0}), tf({}, {4}), tu8({}, {0}),
                    ti32({2}, {2, -2})},
                   {attr_i("group", 2)}});
  // Group 0 sums: 8, 12, 20, 24 (+2) / 4; group 1: 44, 48, 56, 60 (-2) / 4 -> round half even.
  EXPECT_EQ(values_of<uint8_t>(y), (std::vector<uint8_t>{2, 4, 6, 6, 10, 12, 14, 14}));
}

}  // namespace
}  // namespace tessera::kernel_test
