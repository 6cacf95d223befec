// CumSum and CumProd (exclusive, reverse, axis as int32/int64 scalar or 1-D).
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(CumSum, ExclusiveReverseAxes) {
  Tensor x = td({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_near(run1({"CumSum", 14, {x, ti32({}, {1})}, {}}), {2, 3}, {1, 3, 6, 4, 9, 15});
  expect_near(run1({"CumSum", 14, {x, ti64({1}, {0})}, {}}), {2, 3}, {1, 2, 3, 5, 7, 9});
  expect_near(run1({"CumSum", 14, {x, ti64({}, {-1})}, {attr_i("exclusive", 1)}}), {2, 3}, {0, 1, 3, 0, 4, 9});
  expect_near(run1({"CumSum", 14, {x, ti64({}, {1})}, {attr_i("reverse", 1)}}), {2, 3}, {6, 5, 3, 15, 11, 6});
  expect_near(run1({"CumSum", 14, {x, ti64({}, {0})}, {attr_i("reverse", 1), attr_i("exclusive", 1)}}), {2, 3},
              {4, 5, 6, 0, 0, 0});
  Tensor xi = ti32({4}, {1, -2, 3, 4});
  Tensor y = run1({"CumSum", 14, {xi, ti64({}, {0})}, {}});
  ASSERT_EQ(y.dtype(), DataType::int32);
  expect_near(y, {4}, {1, -1, 2, 6});
  EXPECT_FALSE(run_op({"CumSum", 14, {xi, ti64({}, {1})}}).is_ok());
}

TEST(CumProd, ExclusiveReverse) {
  Tensor x = tf({4}, {1, 2, 3, 4});
  expect_near(run1({"CumProd", 26, {x, ti64({}, {0})}, {}}), {4}, {1, 2, 6, 24});
  expect_near(run1({"CumProd", 26, {x, ti64({}, {0})}, {attr_i("exclusive", 1), attr_i("reverse", 1)}}), {4},
              {24, 12, 4, 1});
}

}  // namespace
}  // namespace tessera::kernel_test
