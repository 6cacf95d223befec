// Adagrad, Adam and Momentum (ai.onnx.preview.training), checked against their update formulas
// on two tensors at once.
#include <cmath>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

OpCall training(const std::string& op, std::vector<std::optional<Value>> in, std::vector<Attribute> attrs, int outputs) {
  OpCall c(op, 1, std::move(in), std::move(attrs), outputs);
  c.domain = "ai.onnx.preview.training";
  return c;
}

TEST(TrainingUpdateOps, AdagradTwoTensors) {
  const float r = 0.1f, decay = 0.5f, eps = 1e-6f, norm = 0.01f;
  const int64_t t = 3;
  Tensor x1 = tf({2}, {1, -2}), x2 = tf({1}, {0.5f}), g1 = tf({2}, {0.3f, -0.4f}), g2 = tf({1}, {2}), h1 = tf({2}, {0.1f, 0.2f}),
         h2 = tf({1}, {0});
  auto r_ = run_op(training("Adagrad", {tf({}, {r}), ti64({}, {t}), x1, x2, g1, g2, h1, h2},
                            {attr_f("decay_factor", decay), attr_f("epsilon", eps), attr_f("norm_coefficient", norm)}, 4));
  ASSERT_TRUE(r_.is_ok()) << r_.status().message();
  auto expect = [&](float x, float g, float h, float got_x, float got_h) {
    const double rate = r / (1 + t * decay), gr = norm * x + g, hn = h + gr * gr;
    EXPECT_NEAR(got_h, hn, 1e-6);
    EXPECT_NEAR(got_x, x - rate * gr / (std::sqrt(hn) + eps), 1e-6);
  };
  const auto& out = r_.value();
  expect(1, 0.3f, 0.1f, out[0].tensor().data<float>()[0], out[2].tensor().data<float>()[0]);
  expect(-2, -0.4f, 0.2f, out[0].tensor().data<float>()[1], out[2].tensor().data<float>()[1]);
  expect(0.5f, 2, 0, out[1].tensor().data<float>()[0], out[3].tensor().data<float>()[0]);
}

TEST(TrainingUpdateOps, AdamBiasCorrection) {
  const double r = 0.01, alpha = 0.9, beta = 0.99, eps = 1e-8;
  for (int64_t t : {0, 4}) {
    auto res = run_op(training("Adam", {tf({}, {0.01f}), ti64({}, {t}), tf({1}, {1.0f}), tf({1}, {0.5f}), tf({1}, {0.2f}), tf({1}, {0.3f})},
                               {attr_f("alpha", 0.9f), attr_f("beta", 0.99f), attr_f("epsilon", 1e-8f), attr_f("norm_coefficient_post", 0.1f)}, 3));
    ASSERT_TRUE(res.is_ok()) << res.status().message();
    const double v = alpha * 0.2 + (1 - alpha) * 0.5, h = beta * 0.3 + (1 - beta) * 0.25;
    const double rate = t > 0 ? r * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : r;
    const double x = (1 - 0.1) * (1.0 - rate * v / (std::sqrt(h) + eps));
    EXPECT_NEAR(res.value()[0].tensor().data<float>()[0], x, 1e-5);
    EXPECT_NEAR(res.value()[1].tensor().data<float>()[0], v, 1e-6);
    EXPECT_NEAR(res.value()[2].tensor().data<float>()[0], h, 1e-6);
  }
}

TEST(TrainingUpdateOps, MomentumStandardAndNesterov) {
  for (const char* mode : {"standard", "nesterov"}) {
    auto res = run_op(training("Momentum", {td({}, {0.1}), ti64({}, {2}), td({1}, {1.0}), td({1}, {0.5}), td({1}, {0.2})},
                               {attr_f("alpha", 0.9f), attr_f("beta", 0.5f), attr_s("mode", mode), attr_f("norm_coefficient", 0.0f)}, 2));
    ASSERT_TRUE(res.is_ok()) << res.status().message();
    const double v = 0.9f * 0.2 + 0.5 * 0.5;
    const double x = std::string(mode) == "standard" ? 1.0 - 0.1 * v : 1.0 - 0.1 * (0.5 + 0.9f * v);
    EXPECT_NEAR(res.value()[0].tensor().data<double>()[0], x, 1e-7);
    EXPECT_NEAR(res.value()[1].tensor().data<double>()[0], v, 1e-7);
  }
  OpCall missing = training("Momentum", {td({}, {0.1}), ti64({}, {2}), td({1}, {1.0}), td({1}, {0.5}), td({1}, {0.2})}, {attr_f("alpha", 0.9f)}, 2);
  expect_error(missing, "required attribute");
}

}  // namespace
}  // namespace tessera::kernel_test
