// NonZero, Trilu, Compress, DepthToSpace, SpaceToDepth, ReverseSequence, Unique.
#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(NonZero, FloatsBoolsStringsAndScalar) {
  expect_i64(run1({"NonZero", 13, {tf({2, 3}, {0, 1, -0.0f, 2, 0, 3})}}), {2, 3}, {0, 1, 1, 1, 0, 2});
  expect_i64(run1({"NonZero", 13, {tb({3}, {true, false, true})}}), {1, 2}, {0, 2});
  expect_i64(run1({"NonZero", 13, {ts({3}, {"", "x", ""})}}), {1, 1}, {1});
  expect_i64(run1({"NonZero", 13, {tf({}, {5})}}), {1, 1}, {0});
  expect_i64(run1({"NonZero", 13, {th({2}, {0, 0})}}), {1, 0}, {});
  Tensor f8 = zeros(DataType::float8e4m3fn, {4});
  for (uint8_t i = 0; i < 4; ++i) f8.data<uint8_t>()[i] = std::vector<uint8_t>{0x00, 0x80, 0x01, 0xff}[i];  // 0, -0, tiny, NaN
  expect_i64(run1({"NonZero", 13, {f8}}), {1, 2}, {2, 3});
  Tensor i4 = zeros(DataType::int4, {3});
  i4.data<int8_t>()[0] = -8;
  i4.data<int8_t>()[2] = 1;
  expect_i64(run1({"NonZero", 13, {i4}}), {1, 2}, {0, 2});
}

TEST(Trilu, UpperLowerWithK) {
  Tensor x = tf({3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  expect_f(run1({"Trilu", 14, {x}}), {3, 4}, {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
  expect_f(run1({"Trilu", 14, {x, ti64({}, {-1})}, {attr_i("upper", 0)}}), {3, 4}, {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
  expect_f(run1({"Trilu", 14, {x, ti64({}, {2})}}), {3, 4}, {0, 0, 3, 4, 0, 0, 0, 8, 0, 0, 0, 0});
  expect_f(run1({"Trilu", 14, {x, ti64({}, {-7})}, {attr_i("upper", 0)}}), {3, 4}, std::vector<float>(12, 0));
  Tensor batched = run1({"Trilu", 14, {iota_f({2, 2, 2}), std::nullopt}, {attr_i("upper", 0)}});
  expect_f(batched, {2, 2, 2}, {0, 0, 2, 3, 4, 0, 6, 7});
}

TEST(Compress, AxisAndFlattened) {
  Tensor x = iota_f({3, 2});
  expect_f(run1({"Compress", 11, {x, tb({3}, {false, true, true})}, {attr_i("axis", 0)}}), {2, 2}, {2, 3, 4, 5});
  expect_f(run1({"Compress", 11, {x, tb({2}, {false, true})}, {attr_i("axis", -1)}}), {3, 1}, {1, 3, 5});
  expect_f(run1({"Compress", 11, {x, tb({5}, {true, false, false, false, true})}}), {2}, {0, 4});
  expect_error({"Compress", 11, {x, tb({4}, {false, false, false, true})}, {attr_i("axis", 0)}}, "selects index 3");
}

TEST(DepthToSpace, DcrCrdAndSpaceToDepthRoundTrip) {
  Tensor x = iota_f({1, 8, 2, 3});
  Tensor dcr = run1({"DepthToSpace", 13, {x}, {attr_i("blocksize", 2)}});
  ASSERT_EQ(shape_to_string(dcr.shape()), "[1,2,4,6]");
  // DCR: out[0, c, h*2+i, w*2+j] = x[0, (i*2+j)*2 + c, h, w]
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t w = 0; w < 6; ++w) {
        int64_t ic = ((h % 2) * 2 + (w % 2)) * 2 + c;
        ASSERT_EQ(dcr.data<float>()[(c * 4 + h) * 6 + w], static_cast<float>((ic * 2 + h / 2) * 3 + w / 2));
      }
  Tensor crd = run1({"DepthToSpace", 13, {x}, {attr_i("blocksize", 2), attr_s("mode", "CRD")}});
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t w = 0; w < 6; ++w) {
        int64_t ic = c * 4 + (h % 2) * 2 + (w % 2);
        ASSERT_EQ(crd.data<float>()[(c * 4 + h) * 6 + w], static_cast<float>((ic * 2 + h / 2) * 3 + w / 2));
      }
  // SpaceToDepth inverts DCR DepthToSpace.
  Tensor back = run1({"SpaceToDepth", 13, {dcr}, {attr_i("blocksize", 2)}});
  EXPECT_EQ(shape_to_string(back.shape()), "[1,8,2,3]");
  EXPECT_EQ(values_of<float>(back), values_of<float>(x));
  expect_error({"SpaceToDepth", 13, {iota_f({1, 1, 3, 2})}, {attr_i("blocksize", 2)}}, "multiples");
  expect_error({"DepthToSpace", 13, {iota_f({1, 3, 2, 2})}, {attr_i("blocksize", 2)}}, "multiple");
}

TEST(ReverseSequence, TimeMajorAndBatchMajor) {
  Tensor x = iota_f({3, 2});  // [time, batch]
  expect_f(run1({"ReverseSequence", 10, {x, ti64({2}, {3, 2})}}), {3, 2}, {4, 3, 2, 1, 0, 5});
  Tensor xb = iota_f({2, 3});  // [batch, time]
  expect_f(run1({"ReverseSequence", 10, {xb, ti64({2}, {1, 3})}, {attr_i("batch_axis", 0), attr_i("time_axis", 1)}}), {2, 3},
           {0, 1, 2, 5, 4, 3});
  expect_error({"ReverseSequence", 10, {x, ti64({2}, {4, 1})}}, "outside");
}

TEST(Unique, SortedUnsortedAndAxis) {
  Tensor x = tf({6}, {2, 1, 1, 3, 4, 3});
  auto r = run_op({"Unique", 11, {x}, {}, 4});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_f(r.value()[0].tensor(), {4}, {1, 2, 3, 4});
  expect_i64(r.value()[1].tensor(), {4}, {1, 0, 3, 4});
  expect_i64(r.value()[2].tensor(), {6}, {1, 0, 0, 2, 3, 2});
  expect_i64(r.value()[3].tensor(), {4}, {2, 1, 2, 1});
  r = run_op({"Unique", 11, {x}, {attr_i("sorted", 0)}, 4});
  ASSERT_TRUE(r.is_ok());
  expect_f(r.value()[0].tensor(), {4}, {2, 1, 3, 4});
  expect_i64(r.value()[1].tensor(), {4}, {0, 1, 3, 4});
  expect_i64(r.value()[2].tensor(), {6}, {0, 1, 1, 2, 3, 2});
  expect_i64(r.value()[3].tensor(), {4}, {1, 2, 2, 1});
  // Unique rows of [[1,0,0],[1,0,0],[2,3,4]] along axis 0, and its columns along axis 1.
  Tensor m = tf({3, 3}, {1, 0, 0, 1, 0, 0, 2, 3, 4});
  r = run_op({"Unique", 11, {m}, {attr_i("axis", 0)}, 4});
  ASSERT_TRUE(r.is_ok());
  expect_f(r.value()[0].tensor(), {2, 3}, {1, 0, 0, 2, 3, 4});
  expect_i64(r.value()[2].tensor(), {3}, {0, 0, 1});
  r = run_op({"Unique", 11, {m}, {attr_i("axis", -1)}, 4});
  ASSERT_TRUE(r.is_ok());
  expect_f(r.value()[0].tensor(), {3, 3}, {0, 0, 1, 0, 0, 1, 3, 4, 2});  // columns (0,0,3) < (0,0,4) < (1,1,2)
  expect_i64(r.value()[1].tensor(), {3}, {1, 2, 0});
  EXPECT_EQ(values_of<std::string>(run1({"Unique", 11, {ts({3}, {"b", "a", "b"})}})), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace tessera::kernel_test
