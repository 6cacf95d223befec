#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(VariadicElementwise, SumBroadcastsEveryInput) {
  // Output shape [2,3] comes from all three inputs together, not from the first pair.
  Tensor a = tf({1}, {1});
  Tensor b = tf({3}, {10, 20, 30});
  Tensor c = tf({2, 1}, {100, 200});
  Tensor y = run1(OpCall("Sum", 13, {a, b, c}));
  expect_shape(y, DataType::float32, {2, 3});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{111, 121, 131, 211, 221, 231}));
}

TEST(VariadicElementwise, MeanDividesByInputCount) {
  Tensor y = run1(OpCall("Mean", 13, {tf({2}, {1, 2}), tf({2}, {3, 4}), tf({}, {5})}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{3, 11.0f / 3}));
  Tensor h = run1(OpCall("Mean", 13, {th({2}, {1, 2}), th({2}, {2, 2})}));
  expect_shape(h, DataType::float16, {2});
  EXPECT_EQ(floats_of(h), (std::vector<float>{1.5f, 2}));
}

TEST(VariadicElementwise, SingleInputIsCopied) {
  Tensor y = run1(OpCall("Max", 13, {ti32({2, 2}, {4, -1, 3, 0})}));
  expect_shape(y, DataType::int32, {2, 2});
  EXPECT_EQ(values_of<int32_t>(y), (std::vector<int32_t>{4, -1, 3, 0}));
}

TEST(VariadicElementwise, MinMaxPropagateNaN) {
  Tensor a = tf({3}, {1, kNaN, 5});
  Tensor b = tf({3}, {kNaN, 2, 3});
  expect_near_all(values_of<float>(run1(OpCall("Min", 13, {a, b}))), {kNaN, kNaN, 3});
  expect_near_all(values_of<float>(run1(OpCall("Max", 13, {a, b, tf({1}, {4})}))), {kNaN, kNaN, 5});
  EXPECT_EQ(values_of<int64_t>(run1(OpCall("Min", 13, {ti64({2, 1}, {1, 9}), ti64({3}, {5, 0, 7})}))),
            (std::vector<int64_t>{1, 0, 1, 5, 0, 7}));
}

TEST(VariadicElementwise, MismatchedInputsAreErrors) {
  expect_error(OpCall("Sum", 13, {tf({2}, {1, 2}), tf({3}, {1, 2, 3})}), "broadcast");
  expect_error(OpCall("Max", 13, {tf({2}, {1, 2}), ti32({2}, {1, 2})}), "one type");
}

TEST(VariadicElementwise, WhereBroadcastsAllThree) {
  Tensor c = tb({2, 1}, {true, false});
  Tensor x = tf({3}, {1, 2, 3});
  Tensor y = tf({}, {-1});
  Tensor out = run1(OpCall("Where", 16, {c, x, y}));
  expect_shape(out, DataType::float32, {2, 3});
  EXPECT_EQ(values_of<float>(out), (std::vector<float>{1, 2, 3, -1, -1, -1}));
  Tensor s = run1(OpCall("Where", 16, {tb({3}, {true, false, true}), ts({3}, {"a", "b", "c"}), ts({1}, {"z"})}));
  EXPECT_EQ(values_of<std::string>(s), (std::vector<std::string>{"a", "z", "c"}));
  expect_error(OpCall("Where", 16, {tf({1}, {1}), x, y}), "bool");
  Tensor h = run1(OpCall("Where", 16, {tb({3}, {false, true, false}), th({3}, {1, 2, 3}), th({}, {-0.5f})}));
  EXPECT_EQ(floats_of(h), (std::vector<float>{-0.5f, 2, -0.5f}));
}

TEST(VariadicElementwise, EmptyInputs) {
  Tensor e = zeros(DataType::float32, {3, 0, 2});
  expect_shape(run1(OpCall("Sum", 13, {e, tf({2}, {1, 2}), e})), DataType::float32, {3, 0, 2});
  expect_shape(run1(OpCall("Where", 16, {tb({1}, {true}), e, tf({2}, {1, 2})})), DataType::float32, {3, 0, 2});
  expect_shape(run1(OpCall("Relu", 14, {e})), DataType::float32, {3, 0, 2});
  expect_shape(run1(OpCall("Cast", 21, {e}, {attr_i("to", 10)})), DataType::float16, {3, 0, 2});
}

TEST(VariadicElementwise, WhereThreadedMatchesSerial) {
  const int64_t n = 200003;
  Tensor c = zeros(DataType::boolean, {n});
  Tensor x = zeros(DataType::int64, {n});
  for (int64_t i = 0; i < n; ++i) {
    c.data<bool>()[i] = (i % 3) == 0;
    x.data<int64_t>()[i] = i;
  }
  OpCall call("Where", 16, {c, x, ti64({1}, {-1})});
  call.threads = 4;
  Tensor out = run1(call);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out.data<int64_t>()[i], i % 3 == 0 ? i : -1) << i;
}

}  // namespace
}  // namespace tessera::kernel_test
