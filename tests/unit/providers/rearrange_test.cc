// DepthToSpace, SpaceToDepth, ReverseSequence.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

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

TEST(DepthToSpace, OverflowingBlocksizeOnAnEmptyInputIsAnError) {
  // An empty input passes the divisibility checks for any blocksize; b^2 and H * b then
  // overflowed int64 (a fuzzer's model).
  const int64_t huge = int64_t{1} << 32;
  expect_error({"DepthToSpace", 13, {iota_f({1, 0, 2, 2})}, {attr_i("blocksize", huge)}}, "overflow");
  expect_error({"SpaceToDepth", 13, {iota_f({1, 2, 0, 0})}, {attr_i("blocksize", huge)}}, "overflow");
  expect_error({"DepthToSpace", 13, {iota_f({1, 4, 2, 2})}, {attr_i("blocksize", 0)}}, "positive");
}

TEST(ReverseSequence, TimeMajorAndBatchMajor) {
  Tensor x = iota_f({3, 2});  // [time, batch]
  expect_f(run1({"ReverseSequence", 10, {x, ti64({2}, {3, 2})}}), {3, 2}, {4, 3, 2, 1, 0, 5});
  Tensor xb = iota_f({2, 3});  // [batch, time]
  expect_f(run1({"ReverseSequence", 10, {xb, ti64({2}, {1, 3})}, {attr_i("batch_axis", 0), attr_i("time_axis", 1)}}), {2, 3},
           {0, 1, 2, 5, 4, 3});
  expect_error({"ReverseSequence", 10, {x, ti64({2}, {4, 1})}}, "outside");
}

}  // namespace
}  // namespace tessera::kernel_test
