// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Shape, Size: shapes, aliasing, old forms, errors.
#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(Reshape, ZeroCopiesDimAndMinusOneInfers) {
  Tensor x = iota_f({2, 3, 5});
  Tensor y = run1({"Reshape", 14, {x, ti64({3}, {0, -1, 1})}});
  EXPECT_EQ(shape_to_string(y.shape()), "[2,15,1]");
  EXPECT_TRUE(y.shares_buffer_with(x));  // aliases, no copy
  EXPECT_EQ(y.data<float>()[29], 29.0f);
}

TEST(Reshape, AllowZeroKeepsZero) {
  Tensor x = zeros(DataType::float32, {0, 3});
  Tensor y = run1({"Reshape", 14, {x, ti64({2}, {3, 0})}, {attr_i("allowzero", 1)}});
  EXPECT_EQ(shape_to_string(y.shape()), "[3,0]");
}

TEST(Reshape, Opset1ShapeAttribute) {
  Tensor y = run1({"Reshape", 1, {iota_f({6})}, {attr_ints("shape", {3, 2})}});
  EXPECT_EQ(shape_to_string(y.shape()), "[3,2]");
}

TEST(Reshape, Errors) {
  expect_error({"Reshape", 14, {iota_f({7}), ti64({2}, {2, -1})}}, "cannot reshape");
  expect_error({"Reshape", 14, {iota_f({6}), ti64({2}, {-1, -1})}}, "more than one -1");
  expect_error({"Reshape", 14, {iota_f({6}), ti64({2}, {4, 2})}}, "cannot reshape");
  expect_error({"Reshape", 14, {iota_f({6})}}, "missing");
}

TEST(Flatten, AxesIncludingNegativeAndRank) {
  Tensor x = iota_f({2, 3, 5});
  EXPECT_EQ(shape_to_string(run1({"Flatten", 13, {x}}).shape()), "[2,15]");
  EXPECT_EQ(shape_to_string(run1({"Flatten", 13, {x}, {attr_i("axis", 0)}}).shape()), "[1,30]");
  EXPECT_EQ(shape_to_string(run1({"Flatten", 13, {x}, {attr_i("axis", 3)}}).shape()), "[30,1]");
  EXPECT_EQ(shape_to_string(run1({"Flatten", 13, {x}, {attr_i("axis", -1)}}).shape()), "[6,5]");
  expect_error({"Flatten", 13, {x}, {attr_i("axis", 4)}}, "out of range");
}

TEST(Squeeze, InputAxesAttributeAxesAndAll) {
  Tensor x = iota_f({1, 3, 1, 5});
  EXPECT_EQ(shape_to_string(run1({"Squeeze", 13, {x, ti64({1}, {-2})}}).shape()), "[1,3,5]");
  EXPECT_EQ(shape_to_string(run1({"Squeeze", 11, {x}, {attr_ints("axes", {0})}}).shape()), "[3,1,5]");
  EXPECT_EQ(shape_to_string(run1({"Squeeze", 13, {x}}).shape()), "[3,5]");
  expect_error({"Squeeze", 13, {x, ti64({1}, {1})}}, "cannot squeeze");
}

TEST(Unsqueeze, InputAndAttributeAxes) {
  Tensor x = iota_f({3, 5});
  EXPECT_EQ(shape_to_string(run1({"Unsqueeze", 13, {x, ti64({2}, {0, -1})}}).shape()), "[1,3,5,1]");
  EXPECT_EQ(shape_to_string(run1({"Unsqueeze", 11, {x}, {attr_ints("axes", {1, 3})}}).shape()), "[3,1,5,1]");
  expect_error({"Unsqueeze", 13, {x, ti64({2}, {1, 1})}}, "repeated");
  expect_error({"Unsqueeze", 13, {x, ti64({1}, {3})}}, "out of range");
}

TEST(Identity, ForwardsTensorsSequencesAndNone) {
  Tensor x = iota_f({2});
  Tensor y = run1({"Identity", 16, {x}});
  EXPECT_TRUE(y.shares_buffer_with(x));
  auto r = run_op({"Identity", 16, {Value::sequence({x, x})}});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r.value()[0].is_sequence());
  EXPECT_EQ(r.value()[0].items().size(), 2u);
  r = run_op({"Identity", 16, {Value::empty_optional()}});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r.value()[0].is_empty_optional());
}

TEST(Shape, StartEndClamping) {
  Tensor x = iota_f({2, 3, 5});
  expect_i64(run1({"Shape", 15, {x}}), {3}, {2, 3, 5});
  expect_i64(run1({"Shape", 15, {x}, {attr_i("start", 1)}}), {2}, {3, 5});
  expect_i64(run1({"Shape", 15, {x}, {attr_i("start", -1)}}), {1}, {5});
  expect_i64(run1({"Shape", 15, {x}, {attr_i("end", -1)}}), {2}, {2, 3});
  expect_i64(run1({"Shape", 15, {x}, {attr_i("start", -10), attr_i("end", 10)}}), {3}, {2, 3, 5});
  expect_i64(run1({"Shape", 15, {x}, {attr_i("start", 2), attr_i("end", 1)}}), {0}, {});
}

TEST(Size, CountsElements) {
  expect_i64(run1({"Size", 13, {iota_f({2, 3, 5})}}), {}, {30});
  expect_i64(run1({"Size", 13, {zeros(DataType::string, {0, 4})}}), {}, {0});
}

}  // namespace
// 2147483649 x 9223372023969873926 wraps to 6 in 64-bit arithmetic: a reshape of 6 elements to it
// must be refused, or a later op would index far outside the buffer.
TEST(ShapeOps, ReshapeRefusesAShapeWhoseCountOverflows) {
  expect_error({"Reshape", 14, {tf({6}, {1, 2, 3, 4, 5, 6}), ti64({2}, {2147483649, 9223372023969873926})}},
               "more elements than a 64-bit count holds");
  expect_error({"Reshape", 14, {tf({6}, {1, 2, 3, 4, 5, 6}), ti64({3}, {2147483649, -1, 4398639364219998291})}},
               "more elements than a 64-bit count holds");
}

TEST(ShapeOps, CheckedElementCount) {
  EXPECT_EQ(*checked_element_count({2, 3, 4}), 24);
  EXPECT_EQ(*checked_element_count({}), 1);
  EXPECT_FALSE(checked_element_count({2147483649, 9223372023969873926}).is_ok());
  EXPECT_FALSE(checked_element_count({-1, 2}).is_ok());
}

}  // namespace tessera::kernel_test
