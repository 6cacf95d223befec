// Concat, Split (attribute, input, num_outputs, uneven).
#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(Concat, MiddleAxisOddShapes) {
  Tensor a = iota_f({2, 1, 3});
  Tensor b = tf({2, 2, 3}, {100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111});
  Tensor empty = zeros(DataType::float32, {2, 0, 3});
  Tensor y = run1({"Concat", 13, {a, empty, b}, {attr_i("axis", -2)}});
  expect_f(y, {2, 3, 3}, {0, 1, 2, 100, 101, 102, 103, 104, 105, 3, 4, 5, 106, 107, 108, 109, 110, 111});
}

TEST(Concat, StringsAndErrors) {
  Tensor y = run1({"Concat", 13, {ts({1}, {"x"}), ts({2}, {"y", "z"})}, {attr_i("axis", 0)}});
  EXPECT_EQ(values_of<std::string>(y), (std::vector<std::string>{"x", "y", "z"}));
  expect_error({"Concat", 13, {iota_f({2, 3}), iota_f({3, 3})}, {attr_i("axis", 1)}}, "does not match");
  expect_error({"Concat", 13, {iota_f({2}), iota_f({2})}}, "axis");
  // Concat-1 defaults axis to 1.
  EXPECT_EQ(shape_to_string(run1({"Concat", 1, {iota_f({2, 3}), iota_f({2, 1})}}).shape()), "[2,4]");
}

TEST(Split, SplitInputAndAttribute) {
  Tensor x = iota_f({2, 5});
  auto r = run_op({"Split", 13, {x, ti64({2}, {2, 3})}, {attr_i("axis", 1)}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_f(r.value()[0].tensor(), {2, 2}, {0, 1, 5, 6});
  expect_f(r.value()[1].tensor(), {2, 3}, {2, 3, 4, 7, 8, 9});
  r = run_op({"Split", 11, {x}, {attr_i("axis", -1), attr_ints("split", {4, 1})}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_f(r.value()[1].tensor(), {2, 1}, {4, 9});
}

TEST(Split, EqualAndUnevenNumOutputs) {
  Tensor x = iota_f({7});
  auto r = run_op({"Split", 18, {x}, {attr_i("num_outputs", 3)}, 3});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_f(r.value()[0].tensor(), {3}, {0, 1, 2});
  expect_f(r.value()[1].tensor(), {3}, {3, 4, 5});
  expect_f(r.value()[2].tensor(), {1}, {6});
  r = run_op({"Split", 13, {iota_f({6})}, {}, 3});
  ASSERT_TRUE(r.is_ok());
  expect_f(r.value()[2].tensor(), {2}, {4, 5});
}

TEST(Split, ZeroSizedPartsAndErrors) {
  auto r = run_op({"Split", 13, {iota_f({3}), ti64({3}, {0, 3, 0})}, {}, 3});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value()[0].tensor().size(), 0);
  expect_f(r.value()[1].tensor(), {3}, {0, 1, 2});
  expect_error({"Split", 13, {iota_f({3}), ti64({2}, {1, 1})}, {}, 2}, "sums to");
  expect_error({"Split", 13, {iota_f({3}), ti64({2}, {1, 2})}, {}, 3}, "outputs");
}

}  // namespace
}  // namespace tessera::kernel_test
