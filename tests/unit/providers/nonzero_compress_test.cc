// NonZero and Compress.
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

TEST(Compress, AxisAndFlattened) {
  Tensor x = iota_f({3, 2});
  expect_f(run1({"Compress", 11, {x, tb({3}, {false, true, true})}, {attr_i("axis", 0)}}), {2, 2}, {2, 3, 4, 5});
  expect_f(run1({"Compress", 11, {x, tb({2}, {false, true})}, {attr_i("axis", -1)}}), {3, 1}, {1, 3, 5});
  expect_f(run1({"Compress", 11, {x, tb({5}, {true, false, false, false, true})}}), {2}, {0, 4});
  expect_error({"Compress", 11, {x, tb({4}, {false, false, false, true})}, {attr_i("axis", 0)}}, "selects index 3");
}

}  // namespace
}  // namespace tessera::kernel_test
