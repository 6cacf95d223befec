// Normalization kernels on small odd shapes; expected values computed with numpy from the ONNX
// reference formulas.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

const std::vector<float> kX35 = {0.5f, -1.25f, 2.0f, 3.5f, -0.75f, 1.0f, 1.0f, -2.0f, 0.25f, 4.0f, -3.0f, 0.0f, 0.5f, 2.5f, 1.5f};

TEST(LayerNormalization, AxisOneWithStatistics) {
  Tensor x = tf({3, 5}, kX35);
  Tensor w = tf({5}, {1.0f, 0.5f, -1.0f, 2.0f, 1.5f});
  Tensor b = tf({5}, {0.1f, -0.2f, 0.3f, 0.0f, 1.0f});
  auto r = run_op({"LayerNormalization", 17, {x, w, b}, {attr_i("axis", 1)}, 3});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_near(r.value()[0].tensor(), {3, 5},
              {-0.0708019957, -0.783573449, -0.383207977, 3.07443595, -0.323715448, 0.178086758, -0.160956621,
               1.78364873, -0.624694228, 3.45973349, -1.67408836, -0.280640393, 0.192479506, 2.36545134, 1.96768463});
  expect_near(r.value()[1].tensor(), {3, 1}, {0.8, 0.85, 0.3});
  expect_near(r.value()[2].tensor(), {3, 1}, {0.569339991, 0.520578504, 0.537602544});
  EXPECT_EQ(r.value()[1].tensor().dtype(), DataType::float32);
}

TEST(LayerNormalization, HalfInputAndNegativeAxis) {
  Tensor x = th({3, 5}, kX35);
  Tensor w = th({5}, {1.0f, 0.5f, -1.0f, 2.0f, 1.5f});
  Tensor y = run1({"LayerNormalization", 17, {x, w}, {attr_i("axis", -1)}});
  ASSERT_EQ(y.dtype(), DataType::float16);
  expect_near(y, {3, 5},
              {-0.1708019957, -0.583573449, -0.683207977, 3.07443595, -1.323715448, 0.078086758, 0.039043379,
               1.48364873, -0.624694228, 2.45973349, -1.77408836, -0.080640393, -0.107520494, 2.36545134, 0.96768463},
              3e-3);
}

TEST(LayerNormalization, ScaleBroadcastAndErrors) {
  Tensor x = tf({3, 5}, kX35);
  // A [1,5] scale broadcasts like [5]; a [2] scale does not fit.
  Tensor y = run1({"LayerNormalization", 17, {x, tf({1, 5}, {1, 1, 1, 1, 1})}, {}});
  EXPECT_NEAR(value_at(y, 0), (0.5 - 0.8) * 0.569339991, 1e-5);
  EXPECT_FALSE(run_op({"LayerNormalization", 17, {x, tf({2}, {1, 1})}, {}}).is_ok());
  EXPECT_FALSE(run_op({"LayerNormalization", 17, {x, tf({5}, {1, 1, 1, 1, 1})}, {attr_i("axis", 2)}}).is_ok());
}

TEST(RMSNormalization, LastAxis) {
  Tensor x = tf({3, 5}, kX35);
  Tensor w = tf({5}, {1.0f, 0.5f, -1.0f, 2.0f, 1.5f});
  expect_near(run1({"RMSNormalization", 23, {x, w}, {}}), {3, 5},
              {0.259063542, -0.323829412, -1.03625417, 3.62688947, -0.582892954, 0.476054996, 0.238027498,
               0.952109993, 0.238027498, 2.85632992, -1.59223247, 0, -0.265372068, 2.65372062, 1.19417429});
  // Y takes the scale's type.
  Tensor y = run1({"RMSNormalization", 23, {x, td({5}, {1.0, 0.5, -1.0, 2.0, 1.5})}, {}});
  EXPECT_EQ(y.dtype(), DataType::float64);
  EXPECT_NEAR(value_at(y, 3), 3.62688947, 1e-6);
}

const std::vector<float> kXi = {0, 1, 2.46228862f, 4.17116737f, 6.06286621f, 1.10328197f, 3.27061749f, 5.54952812f,
                                0.928526878f, 3.39863586f, 5.95261955f, 1.58449745f, 4.28922844f, 0.0624961853f, 2.90056229f,
                                5.8001442f, 1.75833893f, 4.7725563f, 0.84046936f, 3.95995712f, 0.129116058f, 3.34618378f,
                                6.60955429f, 2.9177475f, 6.26938248f, 2.66318512f, 6.09796906f, 2.57262421f, 6.08610535f,
                                2.63744354f};

TEST(InstanceNormalization, ThreeDims) {
  Tensor y = run1({"InstanceNormalization", 22, {tf({2, 3, 5}, kXi), tf({3}, {1, 2, -1}), tf({3}, {0, 0.5f, 1})}, {}});
  expect_near(y, {2, 3, 5},
              {-1.2581315, -0.798836112, -0.127213731, 0.657666326, 1.52651489, -1.55095363, 0.993706584,
               3.66936684, -1.75613284, 1.14401245, -0.460805893, 1.66992366, 0.350580871, 2.41234183,
               1.02795947, 1.27985764, -0.899274588, 0.725835443, -1.39414239, 0.287723988, -2.62418437,
               0.0737901628, 2.81059623, -0.285515368, 2.52531314, 1.79355288, -0.228046179, 1.84685397,
               -0.221063614, 1.80870342},
              1e-4);
}

TEST(GroupNormalization, PerChannelScale) {
  std::vector<float> xg = {0, 1.70000005f, 3.4000001f, 0.100000381f, 1.80000019f, 3.5f, 0.200000763f, 1.90000057f,
                           3.60000038f, 0.300000191f, 2, 3.70000076f, 0.400001526f, 2.10000038f, 3.80000114f, 0.5f,
                           2.20000076f, 3.90000153f, 0.600000381f, 2.29999924f, 4, 0.700000763f, 2.40000153f, 4.10000229f};
  Tensor y = run1({"GroupNormalization", 21, {tf({2, 4, 3}, xg), tf({4}, {1, -1, 0.5f, 2}), tf({4}, {0, 1, 2, 3})},
                   {attr_i("num_groups", 2)}});
  expect_near(y, {2, 4, 3},
              {-1.25994647, -0.0359985195, 1.18794942, 2.18794918, 0.964001477, -0.259946346, 1.37002707,
               1.98200083, 2.59397459, 0.624100924, 3.07199645, 5.51989317, -1.25994551, -0.0359987691,
               1.18794942, 2.18794966, 0.964001596, -0.259946585, 1.37002683, 1.98200023, 2.59397435,
               0.624101877, 3.07199812, 5.5198946},
              1e-4);
  EXPECT_FALSE(run_op({"GroupNormalization", 21, {tf({2, 4, 3}, xg), tf({4}, {1, 1, 1, 1}), tf({4}, {0, 0, 0, 0})},
                       {attr_i("num_groups", 3)}})
                   .is_ok());
}

TEST(BatchNormalization, InferenceAndTraining) {
  std::vector<float> xb(12);
  for (int i = 0; i < 12; ++i) xb[static_cast<size_t>(i)] = static_cast<float>(i) * 0.5f - 2;
  Tensor x = tf({2, 3, 2}, xb);
  Tensor s = tf({3}, {1, 2, 3}), b = tf({3}, {0, 1, -1}), m = tf({3}, {0.5f, 0, 1}), v = tf({3}, {1, 2, 0.5f});
  expect_near(run1({"BatchNormalization", 15, {x, s, b, m, v}, {}}), {2, 3, 2},
              {-2.4999876, -1.99998999, -0.414209962, 0.292895019, -5.24259806, -3.12129903, 0.499997497,
               0.999994993, 3.82841992, 4.53552532, 7.48519611, 9.60649586});
  auto r = run_op({"BatchNormalization", 15, {x, s, b, m, v}, {attr_i("training_mode", 1)}, 3});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_near(r.value()[0].tensor(), {2, 3, 2},
              {-1.15079045, -0.821993172, -1.30158091, -0.643986344, -4.4523716, -3.46597958, 0.821993172,
               1.15079045, 2.64398623, 3.30158091, 1.46597958, 2.45237136});
  expect_near(r.value()[1].tensor(), {3}, {0.424999982, 0.075000003, 1.07499993});
  expect_near(r.value()[2].tensor(), {3}, {1.13125002, 2.03125, 0.681249976});
  // Mixed parameter types (T1/T2 may differ from T).
  Tensor y = run1({"BatchNormalization", 15, {th({2, 3, 2}, xb), s, b, td({3}, {0.5, 0, 1}), td({3}, {1, 2, 0.5})}, {}});
  EXPECT_EQ(y.dtype(), DataType::float16);
  EXPECT_NEAR(value_at(y, 11), 9.60649586, 1e-2);
}

TEST(LpNormalization, L1AndL2) {
  Tensor x = tf({3, 5}, kX35);
  expect_near(run1({"LpNormalization", 22, {x}, {attr_i("axis", 0), attr_i("p", 1)}}), {3, 5},
              {0.111111112, -0.555555582, 0.444444448, 0.560000002, -0.119999997, 0.222222224, 0.444444448,
               -0.444444448, 0.0399999991, 0.639999986, -0.666666687, 0, 0.111111112, 0.400000006, 0.239999995});
  expect_near(run1({"LpNormalization", 22, {x}, {}}), {3, 5},
              {0.115856893, -0.289642215, 0.463427573, 0.810998261, -0.173785344, 0.212898523, 0.212898523,
               -0.425797045, 0.0532246307, 0.85159409, -0.712069035, 0, 0.118678175, 0.593390882, 0.356034517});
  // A zero norm gives zeros, not NaN.
  expect_near(run1({"LpNormalization", 22, {tf({1, 2}, {0, 0})}, {}}), {1, 2}, {0, 0});
}

TEST(MeanVarianceNormalization, CustomAxes) {
  std::vector<float> xm = {0, 1, 2.82842708f, 5.19615269f, 8, 11.1803398f, 14.6969385f, 18.5202579f, 22.6274166f, 27,
                           31.622776f, 36.482872f};
  expect_near(run1({"MeanVarianceNormalization", 13, {tf({2, 3, 2}, xm)}, {attr_ints("axes", {0, 2})}}), {2, 3, 2},
              {-1.04644966, -0.924119413, -1.09824669, -0.87378037, -1.11441171, -0.857984543, 0.75143069,
               1.21913838, 0.77874738, 1.19327939, 0.790265799, 1.18212986},
              1e-4);
}

TEST(LRN, ChannelWindow) {
  std::vector<float> xl(10);
  for (int i = 0; i < 10; ++i) xl[static_cast<size_t>(i)] = static_cast<float>(i) * 0.3f;
  Tensor y = run1({"LRN", 13, {tf({1, 5, 1, 2}, xl)},
                   {attr_i("size", 3), attr_f("alpha", 0.01f), attr_f("beta", 0.6f), attr_f("bias", 1.5f)}});
  expect_near(y, {1, 5, 1, 2},
              {0, 0.234934002, 0.469306201, 0.702700257, 0.934596777, 1.16451871, 1.39200711, 1.61662531,
               1.85950112, 2.08458996});
}

}  // namespace
}  // namespace tessera::kernel_test
