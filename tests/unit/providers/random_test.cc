// Random ops: shapes and types, ranges and moments, seeded reproducibility, Bernoulli and
// Multinomial on degenerate distributions.
#include <cmath>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(RandomUniform, RangeShapeAndSeed) {
  OpCall call{"RandomUniform", 22, {}, {attr_ints("shape", {50, 40}), attr_f("low", -2), attr_f("high", 3), attr_f("seed", 7)}};
  Tensor a = run1(call), b = run1(call);
  ASSERT_EQ(a.dtype(), DataType::float32);
  EXPECT_EQ(shape_to_string(a.shape()), "[50,40]");
  double mean = 0;
  for (float v : values_of<float>(a)) {
    EXPECT_GE(v, -2.0f);
    EXPECT_LE(v, 3.0f);
    mean += v / 2000.0;
  }
  EXPECT_NEAR(mean, 0.5, 0.15);
  EXPECT_EQ(values_of<float>(a), values_of<float>(b));  // same seed, fresh kernel: same values
  // The state advances from one run to the next.
  auto two = run_op(call, 2);
  ASSERT_TRUE(two.is_ok());
  EXPECT_NE(values_of<float>(two.value()[0].tensor()), values_of<float>(a));
}

TEST(RandomNormalLike, TakesShapeAndTypeFromInput) {
  Tensor x = td({100, 30}, std::vector<double>(3000, 0.0));
  Tensor y = run1({"RandomNormalLike", 22, {x}, {attr_f("mean", 5), attr_f("scale", 2), attr_f("seed", 1)}});
  ASSERT_EQ(y.dtype(), DataType::float64);
  double mean = 0, var = 0;
  for (double v : values_of<double>(y)) mean += v / 3000;
  for (double v : values_of<double>(y)) var += (v - mean) * (v - mean) / 3000;
  EXPECT_NEAR(mean, 5, 0.2);
  EXPECT_NEAR(std::sqrt(var), 2, 0.2);
  Tensor h = run1({"RandomNormalLike", 22, {x}, {attr_i("dtype", 10)}});
  EXPECT_EQ(h.dtype(), DataType::float16);
  expect_error({"RandomNormal", 22, {}, {}}, "shape");
}

TEST(Bernoulli, DegenerateProbabilitiesAndOutputType) {
  Tensor p = tf({6}, {0, 1, 0, 1, 0, 1});
  Tensor y = run1({"Bernoulli", 22, {p}});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{0, 1, 0, 1, 0, 1}));
  Tensor yb = run1({"Bernoulli", 22, {p}, {attr_i("dtype", 9)}});
  ASSERT_EQ(yb.dtype(), DataType::boolean);
  EXPECT_EQ(yb.data<bool>()[1], true);
}

TEST(Multinomial, DominantClassAndShape) {
  Tensor logits = tf({2, 3}, {0, 50, 0, -50, -50, 10});
  Tensor y = run1({"Multinomial", 22, {logits}, {attr_i("sample_size", 4), attr_i("dtype", 7)}});
  ASSERT_EQ(y.dtype(), DataType::int64);
  EXPECT_EQ(values_of<int64_t>(y), (std::vector<int64_t>{1, 1, 1, 1, 2, 2, 2, 2}));
  Tensor y32 = run1({"Multinomial", 7, {logits}});
  EXPECT_EQ(shape_to_string(y32.shape()), "[2,1]");
  EXPECT_EQ(y32.dtype(), DataType::int32);
}

}  // namespace
}  // namespace tessera::kernel_test
