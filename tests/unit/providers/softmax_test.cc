// Softmax, LogSoftmax, Hardmax: opset-13 single axis and the older coerce-to-2D form.
#include <cmath>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

const std::vector<float> kX35 = {0.5f, -1.25f, 2.0f, 3.5f, -0.75f, 1.0f, 1.0f, -2.0f, 0.25f, 4.0f, -3.0f, 0.0f, 0.5f, 2.5f, 1.5f};

TEST(Softmax, StridedAxis) {
  expect_near(run1({"Softmax", 13, {tf({3, 5}, kX35)}, {attr_i("axis", 0)}}), {3, 5},
              {0.373284936, 0.0715405867, 0.805512428, 0.710907042, 0.00793197379, 0.615442812, 0.678758204,
               0.0147534749, 0.0275648572, 0.916811526, 0.0112722283, 0.249701187, 0.179734111, 0.261528075,
               0.0752564743});
}

TEST(LogSoftmax, LastAxisAndLargeValues) {
  expect_near(run1({"LogSoftmax", 13, {tf({3, 5}, kX35)}, {}}), {3, 5},
              {-3.25915384, -5.00915384, -1.75915384, -0.259153813, -4.50915384, -3.11829019, -3.11829019,
               -6.11829042, -3.86829019, -0.118290156, -5.96334791, -2.96334791, -2.46334815, -0.463348091,
               -1.46334815});
  // Max-shifted: no overflow, and tiny probabilities keep their log.
  expect_near(run1({"LogSoftmax", 13, {tf({1, 3}, {1000, 0, -1000})}, {}}), {1, 3}, {0, -1000, -2000});
  expect_near(run1({"Softmax", 13, {tf({1, 2}, {10000, 10000})}, {}}), {1, 2}, {0.5, 0.5});
}

TEST(Softmax, OldOpsetCoercesTo2D) {
  // Opset 11, axis 1 of [2,2,2]: each sample's 4 values form one distribution.
  Tensor x = tf({2, 2, 2}, {0, 1, 2, 3, 0, 0, 0, 0});
  double z = 1 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expect_near(run1({"Softmax", 11, {x}, {}}), {2, 2, 2},
              {1 / z, std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z, 0.25, 0.25, 0.25, 0.25});
  // Opset 13 default axis -1 normalises pairs instead.
  double p = 1 / (1 + std::exp(1.0));
  expect_near(run1({"Softmax", 13, {x}, {}}), {2, 2, 2}, {p, 1 - p, p, 1 - p, 0.5, 0.5, 0.5, 0.5});
}

TEST(Hardmax, FirstMaximumWins) {
  Tensor x = tf({2, 3}, {1, 3, 3, -1, -2, -3});
  expect_near(run1({"Hardmax", 13, {x}, {}}), {2, 3}, {0, 1, 0, 1, 0, 0});
  expect_near(run1({"Hardmax", 13, {x}, {attr_i("axis", 0)}}), {2, 3}, {1, 1, 1, 0, 0, 0});
  expect_near(run1({"Hardmax", 11, {x}, {attr_i("axis", 0)}}), {2, 3}, {0, 1, 0, 0, 0, 0});
}

TEST(Softmax, HalfAndDoubleAndErrors) {
  Tensor y = run1({"Softmax", 13, {th({1, 3}, {1, 2, 3})}, {}});
  ASSERT_EQ(y.dtype(), DataType::float16);
  expect_near(y, {1, 3}, {0.0900305732, 0.244728471, 0.665240956}, 2e-3);
  expect_near(run1({"Softmax", 13, {td({3}, {1, 2, 3})}, {}}), {3}, {0.0900305732, 0.244728471, 0.665240956});
  EXPECT_FALSE(run_op({"Softmax", 13, {tf({2, 3}, {1, 2, 3, 4, 5, 6})}, {attr_i("axis", 2)}}).is_ok());
}

TEST(Softmax, ParallelMatchesSerial) {
  std::vector<float> v(7 * 129 * 33);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37) % 101) / 9.0f;
  for (int64_t axis : {0, 1, 2}) {
    OpCall call{"Softmax", 13, {tf({7, 129, 33}, v)}, {attr_i("axis", axis)}};
    Tensor a = run1(call);
    call.threads = 3;
    Tensor b = run1(call);
    for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(value_at(a, i), value_at(b, i));
  }
}

}  // namespace
}  // namespace tessera::kernel_test
