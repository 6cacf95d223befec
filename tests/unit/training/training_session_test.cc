// The optimizers' update rules against hand-computed numbers, the LR schedule, and a
// TrainingSession training a small MLP (the loss falls) and resuming from a checkpoint.
#include <cmath>
#include <fstream>

#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/temp_dir.h"
#include "tests/unit/test_tensors.h"
#include "tests/unit/training/gradient_test_util.h"
#include "training/training_session.h"

namespace tessera {
namespace {

TEST(LinearSchedule, WarmsUpThenDecaysToZero) {
  LinearSchedule s{2, 6};
  const double want[] = {0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0};
  for (int64_t step = 0; step < 8; ++step) EXPECT_DOUBLE_EQ(s.factor(step), want[step]) << "step " << step;
  EXPECT_DOUBLE_EQ(LinearSchedule{}.factor(100), 1.0);
}

// Two steps on p = [1, -2] with gradients [0.5, 1] then [-1, 2].
std::vector<float> two_steps(OptimizerConfig config) {
  Optimizer opt(config);
  std::vector<Tensor> params{tensor_of(DataType::float32, {2}, std::vector<float>{1.0f, -2.0f})};
  for (int64_t step = 1; step <= 2; ++step) {
    std::vector<Tensor> grads{step == 1 ? tensor_of(DataType::float32, {2}, std::vector<float>{0.5f, 1.0f})
                                        : tensor_of(DataType::float32, {2}, std::vector<float>{-1.0f, 2.0f})};
    EXPECT_TRUE(opt.step(params, grads, 0.1, step).is_ok());
  }
  return {params[0].data<float>()[0], params[0].data<float>()[1]};
}

TEST(Optimizer, SgdMomentumWeightDecay) {
  // d1 = g1 + 0.1 p0 = [0.6, 0.8]; buf = d1; p1 = p0 - 0.1 buf = [0.94, -2.08]
  // d2 = g2 + 0.1 p1 = [-0.906, 1.792]; buf = 0.9 buf + d2 = [-0.366, 2.512]; p2 = p1 - 0.1 buf
  OptimizerConfig c;
  c.momentum = 0.9;
  c.weight_decay = 0.1;
  auto p = two_steps(c);
  EXPECT_NEAR(p[0], 0.9766, 1e-6);
  EXPECT_NEAR(p[1], -2.3312, 1e-6);
}

TEST(Optimizer, SgdNesterov) {
  // step 1: buf = g1, d = g1 + 0.9 g1 = [0.95, 1.9]; p1 = [0.905, -2.19]
  // step 2: buf = 0.9 g1 + g2 = [-0.55, 2.9]; d = g2 + 0.9 buf = [-1.495, 4.61]; p2 = p1 - 0.1 d
  OptimizerConfig c;
  c.momentum = 0.9;
  c.nesterov = true;
  auto p = two_steps(c);
  EXPECT_NEAR(p[0], 1.0545, 1e-6);
  EXPECT_NEAR(p[1], -2.651, 1e-6);
}

TEST(Optimizer, AdamW) {
  // Step 1 moves each weight by lr after the decay p *= 1 - lr wd: m/(1-b1) = g, sqrt(v/(1-b2)) = |g|.
  OptimizerConfig c;
  c.kind = OptimizerConfig::Kind::adamw;
  c.weight_decay = 0.01;
  c.epsilon = 0;
  Optimizer opt(c);
  std::vector<Tensor> params{tensor_of(DataType::float32, {2}, std::vector<float>{1.0f, -2.0f})};
  std::vector<Tensor> grads{tensor_of(DataType::float32, {2}, std::vector<float>{0.5f, -1.0f})};
  ASSERT_TRUE(opt.step(params, grads, 0.1, 1).is_ok());
  EXPECT_NEAR(params[0].data<float>()[0], 1.0 * (1 - 0.001) - 0.1, 1e-6);
  EXPECT_NEAR(params[0].data<float>()[1], -2.0 * (1 - 0.001) + 0.1, 1e-6);
  // Step 2 with g2 = [0.5, 1]: m = [0.05 + 0.05, -0.09 + 0.1]...
  grads[0] = tensor_of(DataType::float32, {2}, std::vector<float>{0.5f, 1.0f});
  const double p0 = params[0].data<float>()[1];
  ASSERT_TRUE(opt.step(params, grads, 0.1, 2).is_ok());
  const double m = (0.9 * 0.1 * -1.0 + 0.1 * 1.0) / (1 - 0.81);
  const double v = (0.999 * 0.001 * 1.0 + 0.001 * 1.0) / (1 - 0.999 * 0.999);
  EXPECT_NEAR(params[0].data<float>()[1], p0 * (1 - 0.001) - 0.1 * m / std::sqrt(v), 1e-6);
}

constexpr int64_t kBatch = 16, kIn = 4, kHidden = 8;

// Two classes split by x0 + x1 > 0: MatMul-Add-Tanh-Gemm-SoftmaxCrossEntropyLoss.
Model classifier() {
  Graph g;
  g.name = "classifier";
  g.inputs.push_back(tensor_value("x", DataType::float32, {kBatch, kIn}));
  g.inputs.push_back(tensor_value("labels", DataType::int64, {kBatch}));
  g.initializers["W1"] = tensor_of(DataType::float32, {kIn, kHidden}, values(kIn * kHidden, 1, 0.5f));
  g.initializers["b1"] = tensor_of(DataType::float32, {kHidden}, values(kHidden, 2, 0.1f));
  g.initializers["W2"] = tensor_of(DataType::float32, {2, kHidden}, values(2 * kHidden, 3, 0.5f));
  g.initializers["b2"] = tensor_of(DataType::float32, {2}, values(2, 4, 0.1f));
  g.nodes.push_back(node("mm", "MatMul", {"x", "W1"}, {"xw"}));
  g.nodes.push_back(node("add", "Add", {"xw", "b1"}, {"z"}));
  g.nodes.push_back(node("tanh", "Tanh", {"z"}, {"h"}));
  Node gemm = node("gemm", "Gemm", {"h", "W2", "b2"}, {"logits"});
  gemm.attributes["transB"] = int_attr("transB", 1);
  g.nodes.push_back(gemm);
  g.nodes.push_back(node("loss", "SoftmaxCrossEntropyLoss", {"logits", "labels"}, {"loss"}));
  g.outputs.push_back(ValueInfo{"loss", {}});
  return model_with(g, 17);
}

Feeds batch(uint32_t seed) {
  std::vector<float> x = values(kBatch * kIn, seed, 1.0f);
  std::vector<int64_t> labels;
  for (int64_t n = 0; n < kBatch; ++n) labels.push_back(x[n * kIn] + x[n * kIn + 1] > 0 ? 1 : 0);
  return {{"x", Value(tensor_of(DataType::float32, {kBatch, kIn}, x))}, {"labels", Value(tensor_of(DataType::int64, {kBatch}, labels))}};
}

std::unique_ptr<TrainingSession> trainer(OptimizerConfig config) {
  auto ts = TrainingSession::create(classifier(), "loss", {"W1", "b1", "W2", "b2"}, config, LinearSchedule{3, 0});
  EXPECT_TRUE(ts.is_ok()) << ts.status().message();
  return ts.is_ok() ? std::move(ts).value() : nullptr;
}

// Losses of `steps` optimizer steps, each on its own batch.
std::vector<float> train(TrainingSession& ts, int steps, uint32_t first_batch) {
  return train_steps(ts, steps, first_batch, [](uint32_t seed) { return batch(seed); });
}

float mean(const std::vector<float>& v, size_t begin, size_t end) {
  float s = 0;
  for (size_t k = begin; k < end; ++k) s += v[k];
  return s / static_cast<float>(end - begin);
}

TEST(TrainingSession, SgdMomentumLossFalls) {
  OptimizerConfig c;
  c.learning_rate = 0.2;
  c.momentum = 0.9;
  auto ts = trainer(c);
  ASSERT_TRUE(ts);
  auto losses = train(*ts, 60, 10);
  ASSERT_EQ(losses.size(), 60u);
  EXPECT_LT(mean(losses, 50, 60), 0.5f * mean(losses, 0, 5));
  EXPECT_EQ(ts->step(), 60);
}

TEST(TrainingSession, AdamWLossFalls) {
  OptimizerConfig c;
  c.kind = OptimizerConfig::Kind::adamw;
  c.learning_rate = 0.05;
  c.weight_decay = 0.01;
  auto ts = trainer(c);
  ASSERT_TRUE(ts);
  auto losses = train(*ts, 60, 10);
  ASSERT_EQ(losses.size(), 60u);
  EXPECT_LT(mean(losses, 50, 60), 0.5f * mean(losses, 0, 5));
}

// Gradients of two train_steps add up unless lazy_reset_grad comes between them: one step on
// the doubled gradient of one batch equals, for SGD without momentum, lr * 2g.
TEST(TrainingSession, GradientsAccumulateUntilReset) {
  OptimizerConfig c;
  c.learning_rate = 0.1;
  auto once = trainer(c), twice = trainer(c);
  ASSERT_TRUE(once && twice);
  once->set_learning_rate(0.2);
  for (auto* ts : {once.get(), twice.get()}) {
    ts->lazy_reset_grad();
    ASSERT_TRUE(ts->train_step(batch(1)).is_ok());
  }
  ASSERT_TRUE(twice->train_step(batch(1)).is_ok());
  // LinearSchedule{3, 0} gives step 0 a factor 0: step once so both reach a non-zero rate.
  for (auto* ts : {once.get(), twice.get()}) ASSERT_TRUE(ts->optimizer_step().is_ok());
  for (auto* ts : {once.get(), twice.get()}) ASSERT_TRUE(ts->optimizer_step().is_ok());
  for (size_t k = 0; k < once->parameter_names().size(); ++k)
    for (int64_t i = 0; i < once->parameter(k).size(); ++i)
      EXPECT_NEAR(once->parameter(k).data<float>()[i], twice->parameter(k).data<float>()[i], 1e-6) << once->parameter_names()[k];
}

TEST(TrainingSession, CheckpointResumeGivesTheSameLosses) {
  OptimizerConfig c;
  c.kind = OptimizerConfig::Kind::adamw;
  c.learning_rate = 0.05;
  TempDir dir("tessera_training_test");
  const std::string path = dir.path() + "/ckpt.bin";
  auto straight = trainer(c);
  ASSERT_TRUE(straight);
  train(*straight, 5, 10);
  ASSERT_TRUE(straight->save_checkpoint(path).is_ok());
  const auto want = train(*straight, 5, 15);

  auto resumed = trainer(c);
  ASSERT_TRUE(resumed);
  Status loaded = resumed->load_checkpoint(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.message();
  EXPECT_EQ(resumed->step(), 5);
  const auto got = train(*resumed, 5, 15);
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) EXPECT_FLOAT_EQ(got[k], want[k]) << "step " << 5 + k;
}

TEST(TrainingSession, BadInputsAreNamed) {
  auto missing = TrainingSession::create(classifier(), "loss", {"W9"}, OptimizerConfig{});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("'W9'"), std::string::npos) << missing.status().message();
  auto ts = trainer(OptimizerConfig{});
  ASSERT_TRUE(ts);
  EXPECT_FALSE(ts->optimizer_step().is_ok());
  TempDir dir("tessera_training_test");
  const std::string junk = dir.path() + "/junk.bin";
  { std::ofstream(junk) << "not a checkpoint"; }
  Status s = ts->load_checkpoint(junk);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("not a Tessera checkpoint"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera
