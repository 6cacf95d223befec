// The activations the convolutions apply after their stores (nn/conv_activation.h), which run in
// the widest ISA clone the CPU has (AVX-512's exp_logistic with vscalefps; under TESSERA_ISA=avx2
// and portable, the generic one): SiLU and Sigmoid against double-precision libm over a dense
// sweep, the tails, the special values and a length that leaves a partial last vector.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "providers/cpu/nn/conv_activation.h"

namespace tessera {
namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

double ref_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double ref_silu(double x) { return x * ref_sigmoid(x); }

// rel: allowed relative error; abs: allowed absolute error (the tails' tiny and subnormal results).
void check_activation(ConvActivation::Kind kind, double (*ref)(double), double rel, double abs) {
  std::vector<float> xs;
  const int n = 200001;  // not a multiple of any vector: the tail goes through the padded vector
  for (int i = 0; i < n; ++i) xs.push_back(static_cast<float>(-100.0 + 200.0 * i / (n - 1)));
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 87.0f, -87.0f, 88.6f, -88.6f, 89.0f, -89.0f, 1e30f, -1e30f, kInf, -kInf,
                  kNaN})
    xs.push_back(v);
  std::vector<float> ys = xs;
  apply_activation(ConvActivation{kind}, ys.data(), static_cast<int64_t>(ys.size()));
  double worst = 0;
  float worst_x = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = ref(static_cast<double>(xs[i]));
    const float got = ys[i];
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << "f(" << xs[i] << ") = " << got;
      continue;
    }
    if (std::isinf(want)) {
      EXPECT_EQ(got, static_cast<float>(want)) << "f(" << xs[i] << ")";
      continue;
    }
    const double err = std::fabs(got - want) / (abs + rel * std::fabs(want));
    if (err > worst) worst = err, worst_x = xs[i];
  }
  EXPECT_LE(worst, 1.0) << "worst error at x = " << worst_x;
}

TEST(ConvActivation, SiluMatchesLibm) {
  check_activation(ConvActivation::Kind::silu, ref_silu, 4e-7, 1e-30);
  // x * sigmoid(x) at the infinities: inf, and -inf * 0 = NaN; exact values where they are exact.
  std::vector<float> y = {kInf, -kInf, kNaN, 0.0f, 100.0f};
  apply_activation(ConvActivation{ConvActivation::Kind::silu}, y.data(), 5);
  EXPECT_EQ(y[0], kInf);
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[4], 100.0f);
}

TEST(ConvActivation, SigmoidMatchesLibm) {
  check_activation(ConvActivation::Kind::sigmoid, ref_sigmoid, 3e-7, 1e-37);
  std::vector<float> y = {kInf, -kInf, kNaN, 0.0f, -200.0f};
  apply_activation(ConvActivation{ConvActivation::Kind::sigmoid}, y.data(), 5);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], 0.5f);
  EXPECT_LT(y[4], 1e-37f);
}

}  // namespace
}  // namespace tessera
