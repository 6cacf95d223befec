// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: reductions, weights, ignore_index,
// K-dimensional inputs and the log_prob output.
#include <cmath>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

const std::vector<float> kX = {-1.0f, -2.0f, -0.5f, -3.0f, -0.25f, -1.5f};  // [2, 3]

TEST(NegativeLogLikelihoodLoss, ReductionsAndWeights) {
  Tensor x = tf({2, 3}, kX), t = ti64({2}, {2, 0}), w = tf({3}, {1, 2, 3});
  expect_near(run1({"NegativeLogLikelihoodLoss", 13, {x, t}, {attr_s("reduction", "none")}}), {2}, {0.5, 3.0});
  expect_near(run1({"NegativeLogLikelihoodLoss", 13, {x, t}, {attr_s("reduction", "sum")}}), {}, {3.5});
  expect_near(run1({"NegativeLogLikelihoodLoss", 13, {x, t}}), {}, {1.75});
  // Weighted mean divides by the weights of the targets: (0.5 * 3 + 3 * 1) / (3 + 1).
  expect_near(run1({"NegativeLogLikelihoodLoss", 13, {x, t, w}}), {}, {4.5 / 4});
  // Ignored positions count neither in the sum nor in the divisor.
  expect_near(run1({"NegativeLogLikelihoodLoss", 22, {x, t, w}, {attr_i("ignore_index", 0)}}), {}, {0.5});
}

TEST(NegativeLogLikelihoodLoss, KDimensionalInt32Targets) {
  // N=1, C=2, d1=3: class axis is 1, positions along d1.
  Tensor x = tf({1, 2, 3}, {-1, -2, -3, -4, -5, -6});
  Tensor t = ti32({1, 3}, {1, 0, -7});
  expect_near(run1({"NegativeLogLikelihoodLoss", 13, {x, t}, {attr_s("reduction", "none"), attr_i("ignore_index", -7)}}),
              {1, 3}, {4, 2, 0});
  expect_near(run1({"NegativeLogLikelihoodLoss", 13, {x, t}, {attr_i("ignore_index", -7)}}), {}, {3});
  expect_error({"NegativeLogLikelihoodLoss", 13, {x, t}}, "outside [0, 2)");
  expect_error({"NegativeLogLikelihoodLoss", 13, {x, ti32({1, 2}, {0, 0})}}, "target shape");
}

TEST(SoftmaxCrossEntropyLoss, LogProbAndMean) {
  Tensor x = tf({2, 3}, kX), t = ti64({2}, {2, 0});
  auto r = run_op({"SoftmaxCrossEntropyLoss", 13, {x, t}, {}, {"loss", "log_prob"}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  std::vector<double> lp(6);
  for (int n = 0; n < 2; ++n) {
    double sum = 0;
    for (int c = 0; c < 3; ++c) sum += std::exp(kX[n * 3 + c]);
    for (int c = 0; c < 3; ++c) lp[n * 3 + c] = kX[n * 3 + c] - std::log(sum);
  }
  expect_near(r.value()[1].tensor(), {2, 3}, lp);
  expect_near(r.value()[0].tensor(), {}, {-(lp[2] + lp[3]) / 2});
  // Large scores stay finite (log-softmax is shifted by the row maximum).
  expect_near(run1({"SoftmaxCrossEntropyLoss", 12, {tf({1, 2}, {1000, 0}), ti64({1}, {1})}}), {}, {1000});
}

TEST(SoftmaxCrossEntropyLoss, HalfAndDouble) {
  Tensor t = ti64({2}, {1, 1});
  Tensor yh = run1({"SoftmaxCrossEntropyLoss", 13, {th({2, 3}, kX), t}, {attr_s("reduction", "sum")}});
  Tensor yd = run1({"SoftmaxCrossEntropyLoss", 13, {td({2, 3}, {-1, -2, -0.5, -3, -0.25, -1.5}), t}, {attr_s("reduction", "sum")}});
  ASSERT_EQ(yh.dtype(), DataType::float16);
  ASSERT_EQ(yd.dtype(), DataType::float64);
  expect_near(yh, {}, as_doubles(yd), 2e-3);
}

TEST(Loss, BadReduction) {
  expect_error({"SoftmaxCrossEntropyLoss", 13, {tf({1, 2}, {0, 0}), ti64({1}, {0})}, {attr_s("reduction", "avg")}},
               "reduction");
}

}  // namespace
}  // namespace tessera::kernel_test
