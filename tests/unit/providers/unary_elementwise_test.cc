#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

TEST(UnaryElementwise, ReluKeepsNaNAndWorksOnInts) {
  expect_near_all(values_of<float>(run1(OpCall("Relu", 14, {tf({4}, {-1, 0, 2.5f, kNaN})}))), {0, 0, 2.5f, kNaN});
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("Relu", 14, {ti32({3}, {-7, 0, 7})}))), (std::vector<int32_t>{0, 0, 7}));
}

TEST(UnaryElementwise, AbsNegSignOnIntegers) {
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("Abs", 13, {ti32({3}, {-3, 0, 4})}))), (std::vector<int32_t>{3, 0, 4}));
  EXPECT_EQ(values_of<int64_t>(run1(OpCall("Neg", 13, {ti64({3}, {-3, 5, INT64_MIN})}))),
            (std::vector<int64_t>{3, -5, INT64_MIN}));
  EXPECT_TRUE(std::signbit(values_of<float>(run1(OpCall("Neg", 13, {tf({1}, {0.0f})})))[0]));
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("Abs", 13, {ti32({1}, {INT32_MIN})}))), (std::vector<int32_t>{INT32_MIN}));
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("Sign", 13, {ti32({3}, {-9, 0, 9})}))), (std::vector<int32_t>{-1, 0, 1}));
  expect_near_all(values_of<float>(run1(OpCall("Sign", 13, {tf({3}, {-0.5f, 0, kNaN})}))), {-1, 0, kNaN});
}

TEST(UnaryElementwise, RoundHalvesToEven) {
  EXPECT_EQ(values_of<float>(run1(OpCall("Round", 11, {tf({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.6f})}))),
            (std::vector<float>{0, 2, 2, -0, -2, 3}));
}

TEST(UnaryElementwise, SigmoidSoftplusStableAtExtremes) {
  expect_near_all(values_of<float>(run1(OpCall("Sigmoid", 13, {tf({3}, {-100, 0, 100})}))), {0, 0.5f, 1});
  expect_near_all(values_of<float>(run1(OpCall("Softplus", 1, {tf({3}, {-100, 0, 100})}))), {0, std::log(2.0f), 100});
}

TEST(UnaryElementwise, ActivationsUseAttributesAndDefaults) {
  Tensor x = tf({4}, {-2, -0.5f, 0.5f, 2});
  expect_near_all(values_of<float>(run1(OpCall("LeakyRelu", 16, {x}))), {-0.02f, -0.005f, 0.5f, 2});
  expect_near_all(values_of<float>(run1(OpCall("LeakyRelu", 16, {x}, {attr_f("alpha", 0.5f)}))), {-1, -0.25f, 0.5f, 2});
  expect_near_all(values_of<float>(run1(OpCall("Elu", 6, {x}))), {std::expm1(-2.0f), std::expm1(-0.5f), 0.5f, 2});
  expect_near_all(values_of<float>(run1(OpCall("HardSigmoid", 6, {x}))), {0.1f, 0.4f, 0.6f, 0.9f});
  expect_near_all(values_of<float>(run1(OpCall("ThresholdedRelu", 10, {x}))), {0, 0, 0, 2});
  expect_near_all(values_of<float>(run1(OpCall("Shrink", 9, {x}, {attr_f("bias", 0.25f), attr_f("lambd", 1.0f)}))),
                  {-1.75f, 0, 0, 1.75f});
  expect_near_all(values_of<float>(run1(OpCall("HardSwish", 14, {tf({3}, {-4, 1, 4})}))), {0, 1.0f * (1.0f / 6 + 0.5f), 4});
  const float selu_a = 1.67326319217681884765625f, selu_g = 1.05070102214813232421875f;
  expect_near_all(values_of<float>(run1(OpCall("Selu", 6, {tf({2}, {-1, 1})}))), {selu_g * selu_a * std::expm1(-1.0f), selu_g});
  expect_near_all(values_of<float>(run1(OpCall("Celu", 12, {tf({2}, {-1, 1})}, {attr_f("alpha", 2.0f)}))),
                  {2.0f * std::expm1(-0.5f), 1});
}

TEST(UnaryElementwise, GeluExactAndTanh) {
  Tensor x = tf({3}, {-1, 0, 1.5f});
  auto exact = [](float v) { return 0.5f * v * (1 + std::erf(v / std::sqrt(2.0f))); };
  auto approx = [](float v) { return 0.5f * v * (1 + std::tanh(std::sqrt(2.0f / 3.14159265f) * (v + 0.044715f * v * v * v))); };
  expect_near_all(values_of<float>(run1(OpCall("Gelu", 20, {x}))), {exact(-1), 0, exact(1.5f)});
  expect_near_all(values_of<float>(run1(OpCall("Gelu", 20, {x}, {attr_s("approximate", "tanh")}))), {approx(-1), 0, approx(1.5f)});
  expect_error(OpCall("Gelu", 20, {x}, {attr_s("approximate", "fast")}), "approximate");
}

TEST(UnaryElementwise, Float16AndBFloat16ComputeInFloat) {
  std::vector<float> in = {-3, -0.25f, 0, 0.1f, 1, 7.5f};
  Tensor h = run1(OpCall("Tanh", 13, {th({2, 3}, in)}));
  expect_shape(h, DataType::float16, {2, 3});
  std::vector<float> want;
  for (float v : in) want.push_back(half_to_float(float_to_half(std::tanh(half_to_float(float_to_half(v))))));
  expect_near_all(floats_of(h), want, 1e-3f, 0);  // one float16 ulp
  // float16 goes through the float kernel: the same values as a float input, rounded once.
  std::vector<float> widened;
  for (float v : in) widened.push_back(half_to_float(float_to_half(v)));
  std::vector<float> via_float = values_of<float>(run1(OpCall("Tanh", 13, {tf({2, 3}, widened)})));
  for (float& v : via_float) v = half_to_float(float_to_half(v));
  EXPECT_EQ(floats_of(h), via_float);
  Tensor b = run1(OpCall("Exp", 13, {tbf({2}, {0, 1})}));
  expect_shape(b, DataType::bfloat16, {2});
  EXPECT_EQ(floats_of(b), (std::vector<float>{1.0f, bfloat16_to_float(float_to_bfloat16(std::exp(1.0f)))}));
}

TEST(UnaryElementwise, LargeInputSplitAcrossThreads) {
  Tensor x = zeros(DataType::float32, {300001});
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = static_cast<float>(i % 1000) / 100.0f - 5.0f;
  OpCall call("Exp", 13, {x});
  call.threads = 4;
  Tensor y = run1(call);
  OpCall serial("Exp", 13, {x});
  Tensor z = run1(serial);
  EXPECT_EQ(values_of<float>(y), values_of<float>(z));
  for (int64_t i = 0; i < x.size(); i += 997) {
    const float want = std::exp(x.data<float>()[i]);
    ASSERT_NEAR(y.data<float>()[i], want, 3e-7f * want) << i;
  }
}

// The float kernels use Tessera's vectorised approximations: bound their error against double
// precision libm over a dense sweep, the tails and the special values.
struct Accuracy {
  const char* op;
  int64_t opset;
  double (*ref)(double);
  double rel;  // allowed relative error
  double abs;  // allowed absolute error (near zeros of the function)
  double lo, hi;
};

void check_accuracy(const Accuracy& a) {
  std::vector<float> xs;
  const int n = 400000;
  for (int i = 0; i <= n; ++i) xs.push_back(static_cast<float>(a.lo + (a.hi - a.lo) * i / n));
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, -1e-8f, 1e-45f, kInf, -kInf, kNaN}) xs.push_back(v);
  Tensor y = run1(OpCall(a.op, a.opset, {tf({static_cast<int64_t>(xs.size())}, xs)}));
  double worst = 0;
  float worst_x = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = a.ref(static_cast<double>(xs[i]));
    const float got = y.data<float>()[i];
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << a.op << "(" << xs[i] << ") = " << got;
      continue;
    }
    if (std::isinf(want) || std::fabs(want) > 3.4e38) {
      EXPECT_EQ(got, static_cast<float>(want)) << a.op << "(" << xs[i] << ")";
      continue;
    }
    // Results in the subnormal range carry few bits: judge them absolutely.
    const double err = std::fabs(got - want) / (std::max(a.abs, 1e-37) + a.rel * std::fabs(want));
    if (err > worst) worst = err, worst_x = xs[i];
  }
  EXPECT_LE(worst, 1.0) << a.op << ": worst error at x = " << worst_x;
}

double ref_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double ref_softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double ref_gelu(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double ref_mish(double x) { return x * std::tanh(ref_softplus(x)); }
double ref_swish(double x) { return x * ref_sigmoid(x); }
double ref_elu(double x) { return x > 0 ? x : std::expm1(x); }
double ref_log(double x) { return std::log(x); }

TEST(UnaryElementwise, VectorMathIsAccurate) {
  const Accuracy cases[] = {
      {"Exp", 13, [](double x) { return std::exp(x); }, 3e-7, 0, -110, 90},
      {"Tanh", 13, [](double x) { return std::tanh(x); }, 3e-7, 0, -12, 12},
      {"Erf", 13, [](double x) { return std::erf(x); }, 4e-7, 0, -6, 6},
      {"Sigmoid", 13, ref_sigmoid, 3e-7, 0, -100, 100},
      {"Softplus", 1, ref_softplus, 4e-7, 0, -100, 100},
      // In the negative tail the float rounding of x/sqrt(2) and x^2 shows (as in any float gelu).
      {"Gelu", 20, ref_gelu, 3e-6, 1e-12, -12, 12},
      // Densely across |x| = sqrt(2), where whole vectors switch to erf's polynomial alone.
      {"Gelu", 20, ref_gelu, 3e-6, 1e-12, -1.6, 1.6},
      {"Mish", 18, ref_mish, 1e-6, 1e-30, -30, 30},
      {"Swish", 24, ref_swish, 4e-7, 1e-30, -100, 100},
      {"Elu", 6, ref_elu, 3e-7, 0, -50, 5},
      {"Log", 13, ref_log, 3e-7, 3e-8, 1e-6, 100},
      {"Log", 13, ref_log, 3e-7, 0, -1, 3e38},
  };
  for (const Accuracy& a : cases) check_accuracy(a);
}

TEST(UnaryElementwise, RoundingAndSqrtMatchLibmExactly) {
  std::vector<float> xs = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, -0.49999997f, 8388607.5f, -8388607.5f,
                           8388608.0f, 16777217.0f, 3e38f, -3e38f, 1e-40f, -1e-40f, 0.0f, -0.0f, -0.3f, kInf, -kInf, kNaN};
  for (int i = -4000; i <= 4000; ++i) xs.push_back(static_cast<float>(i) * 0.37f);
  Tensor x = tf({static_cast<int64_t>(xs.size())}, xs);
  struct Case {
    const char* op;
    int64_t opset;
    float (*ref)(float);
  };
  const Case cases[] = {{"Floor", 13, [](float v) { return std::floor(v); }},
                        {"Ceil", 13, [](float v) { return std::ceil(v); }},
                        {"Round", 11, [](float v) { return std::nearbyint(v); }},
                        {"Sqrt", 13, [](float v) { return std::sqrt(v); }}};
  for (const Case& c : cases) {
    Tensor y = run1(OpCall(c.op, c.opset, {x}));
    for (size_t i = 0; i < xs.size(); ++i) {
      const float want = c.ref(xs[i]), got = y.data<float>()[i];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << c.op << "(" << xs[i] << ")";
      } else {
        EXPECT_EQ(got, want) << c.op << "(" << xs[i] << ")";
        EXPECT_EQ(std::signbit(got), std::signbit(want)) << c.op << "(" << xs[i] << ")";
      }
    }
  }
}

TEST(UnaryElementwise, NotAndBitwiseNot) {
  EXPECT_EQ(bools_of(run1(OpCall("Not", 1, {tb({2}, {true, false})}))), (std::vector<bool>{false, true}));
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("BitwiseNot", 18, {ti32({2}, {0, 5})}))), (std::vector<int32_t>{-1, -6}));
  Tensor u = run1(OpCall("BitwiseNot", 18, {make<uint8_t>(DataType::uint8, {1}, {0x0f})}));
  EXPECT_EQ(values_of<uint8_t>(u), (std::vector<uint8_t>{0xf0}));
}

TEST(UnaryElementwise, IsNaNIsInfIncludingFloat8) {
  Tensor x = tf({4}, {kNaN, kInf, -kInf, 1});
  EXPECT_EQ(bools_of(run1(OpCall("IsNaN", 20, {x}))), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(bools_of(run1(OpCall("IsInf", 20, {x}))), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(bools_of(run1(OpCall("IsInf", 20, {x}, {attr_i("detect_positive", 0)}))), (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(bools_of(run1(OpCall("IsInf", 20, {x}, {attr_i("detect_negative", 0)}))), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(bools_of(run1(OpCall("IsNaN", 20, {th({2}, {kNaN, 2})}))), (std::vector<bool>{true, false}));
  // e5m2: 0x7c is +inf, 0x7e NaN; e4m3fn: 0x7f NaN and no inf.
  Tensor e5 = make<uint8_t>(DataType::float8e5m2, {3}, {0x7c, 0x7e, 0x3c});
  EXPECT_EQ(bools_of(run1(OpCall("IsInf", 20, {e5}))), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(bools_of(run1(OpCall("IsNaN", 20, {e5}))), (std::vector<bool>{false, true, false}));
  Tensor e4 = make<uint8_t>(DataType::float8e4m3fn, {2}, {0x7f, 0x7e});
  EXPECT_EQ(bools_of(run1(OpCall("IsNaN", 20, {e4}))), (std::vector<bool>{true, false}));
}

TEST(UnaryElementwise, ClipAttributesThenInputs) {
  Tensor x = tf({5}, {-3, -1, 0, 1, kNaN});
  // Clip-6: float attributes.
  expect_near_all(values_of<float>(run1(OpCall("Clip", 6, {x}, {attr_f("min", -1.5f), attr_f("max", 0.5f)}))),
                  {-1.5f, -1, 0, 0.5f, kNaN});
  // Clip-13: optional scalar inputs; only max given.
  expect_near_all(values_of<float>(run1(OpCall("Clip", 13, {x, std::nullopt, tf({}, {0})}))), {-3, -1, 0, 0, kNaN});
  // min > max gives max everywhere, as numpy.clip.
  expect_near_all(values_of<float>(run1(OpCall("Clip", 13, {x, tf({}, {2}), tf({}, {1})}))), {1, 1, 1, 1, kNaN});
  Tensor i8 = make<int8_t>(DataType::int8, {3}, {-128, 0, 127});
  EXPECT_EQ(values_of<int8_t>(run1(OpCall("Clip", 13, {i8, make<int8_t>(DataType::int8, {}, {-5})}))),
            (std::vector<int8_t>{-5, 0, 127}));
  expect_error(OpCall("Clip", 13, {x, ti32({}, {0})}), "type");
}

TEST(UnaryElementwise, RejectsTypesOutsideTheSpec) {
  expect_error(OpCall("Exp", 13, {ti32({1}, {1})}), "int32");
  expect_error(OpCall("Not", 1, {tf({1}, {1})}), "float");
}

}  // namespace
}  // namespace tessera::kernel_test
