// ArgMax / ArgMin: axes, keepdims, select_last_index, ties and NaN.
#include <cmath>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(ArgReduce, AxesAndKeepdims) {
  Tensor x = tf({2, 3}, {1, 5, 5, 7, 2, 7});
  Tensor y = run1({"ArgMax", 13, {x}, {attr_i("axis", 1)}});
  ASSERT_EQ(y.dtype(), DataType::int64);
  expect_near(y, {2, 1}, {1, 0});
  expect_near(run1({"ArgMax", 13, {x}, {attr_i("axis", 1), attr_i("select_last_index", 1)}}), {2, 1}, {2, 2});
  expect_near(run1({"ArgMin", 13, {x}, {attr_i("axis", 0), attr_i("keepdims", 0)}}), {3}, {0, 1, 0});
  expect_near(run1({"ArgMin", 13, {x}, {attr_i("axis", -1), attr_i("keepdims", 0)}}), {2}, {0, 1});
}

TEST(ArgReduce, StridedAxisTiesAndLast) {
  // [2,3,2] along axis 1.
  Tensor x = ti32({2, 3, 2}, {4, 1, 4, 9, 0, 9, -1, -1, -5, -1, -5, 3});
  expect_near(run1({"ArgMax", 13, {x}, {attr_i("axis", 1), attr_i("keepdims", 0)}}), {2, 2}, {0, 1, 0, 2});
  expect_near(run1({"ArgMax", 13, {x}, {attr_i("axis", 1), attr_i("keepdims", 0), attr_i("select_last_index", 1)}}),
              {2, 2}, {1, 2, 0, 2});
  expect_near(run1({"ArgMin", 13, {x}, {attr_i("axis", 1), attr_i("keepdims", 0), attr_i("select_last_index", 1)}}),
              {2, 2}, {2, 0, 2, 1});
}

TEST(ArgReduce, NaNIsTheExtreme) {
  Tensor x = tf({4}, {1, NAN, 3, NAN});
  expect_near(run1({"ArgMax", 13, {x}, {attr_i("keepdims", 0)}}), {}, {1});
  expect_near(run1({"ArgMin", 13, {x}, {attr_i("keepdims", 0)}}), {}, {1});
  expect_near(run1({"ArgMax", 13, {x}, {attr_i("keepdims", 0), attr_i("select_last_index", 1)}}), {}, {3});
}

TEST(ArgReduce, HalfAndErrors) {
  expect_near(run1({"ArgMax", 13, {tbf({3}, {0.5f, 2.5f, -1})}, {}}), {1}, {1});
  EXPECT_FALSE(run_op({"ArgMax", 13, {tf({2, 2}, {1, 2, 3, 4})}, {attr_i("axis", 2)}}).is_ok());
  EXPECT_FALSE(run_op({"ArgMax", 13, {tf({2, 0}, {})}, {attr_i("axis", 1)}}).is_ok());
}

}  // namespace
}  // namespace tessera::kernel_test
