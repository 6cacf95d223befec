// Artifacts and the TrainingSession API around them: generate_artifacts on an inference model,
// a session made from the files trains (loss falls), eval_step, the exported inference model run
// in an InferenceSession (same outputs as the training forward), checkpoints through artifacts,
// the optimizer config file and the appended losses against hand-computed values.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "tessera/session.h"
#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/temp_dir.h"
#include "tests/unit/test_tensors.h"
#include "tests/unit/training/gradient_test_util.h"
#include "training/training_session.h"

namespace tessera {
namespace {

constexpr int64_t kBatch = 16, kIn = 4, kHidden = 8;

// logits = Gemm(Relu(BatchNorm(x W1 + b1)), W2, b2): an inference model (no loss) with a
// training-mode BatchNormalization, whose running statistics the session keeps as buffers.
Model mlp(bool training_mode_bn) {
  Graph g;
  g.name = "mlp";
  g.inputs.push_back(tensor_value("x", DataType::float32, {kBatch, kIn}));
  g.initializers["W1"] = tensor_of(DataType::float32, {kIn, kHidden}, values(kIn * kHidden, 1, 0.5f));
  g.initializers["b1"] = tensor_of(DataType::float32, {kHidden}, values(kHidden, 2, 0.1f));
  g.initializers["gamma"] = tensor_of(DataType::float32, {kHidden}, std::vector<float>(kHidden, 1.0f));
  g.initializers["beta"] = tensor_of(DataType::float32, {kHidden}, std::vector<float>(kHidden, 0.0f));
  g.initializers["mean"] = tensor_of(DataType::float32, {kHidden}, std::vector<float>(kHidden, 0.0f));
  g.initializers["var"] = tensor_of(DataType::float32, {kHidden}, std::vector<float>(kHidden, 1.0f));
  g.initializers["W2"] = tensor_of(DataType::float32, {2, kHidden}, values(2 * kHidden, 3, 0.5f));
  g.initializers["b2"] = tensor_of(DataType::float32, {2}, values(2, 4, 0.1f));
  g.nodes.push_back(node("mm", "MatMul", {"x", "W1"}, {"xw"}));
  g.nodes.push_back(node("add", "Add", {"xw", "b1"}, {"z"}));
  Node bn = node("bn", "BatchNormalization", {"z", "gamma", "beta", "mean", "var"},
                 training_mode_bn ? std::vector<std::string>{"zn", "running_mean", "running_var"} : std::vector<std::string>{"zn"});
  if (training_mode_bn) bn.attributes["training_mode"] = int_attr("training_mode", 1);
  g.nodes.push_back(bn);
  g.nodes.push_back(node("relu", "Relu", {"zn"}, {"h"}));
  Node gemm = node("gemm", "Gemm", {"h", "W2", "b2"}, {"logits"});
  gemm.attributes["transB"] = int_attr("transB", 1);
  g.nodes.push_back(gemm);
  g.outputs.push_back(tensor_value("logits", DataType::float32, {kBatch, 2}));
  return model_with(g, 17);
}

const std::vector<std::string> kTrainable{"W1", "b1", "gamma", "beta", "W2", "b2"};

// Two classes split by x0 + x1 > 0.
Feeds batch(uint32_t seed, bool with_target = true) {
  std::vector<float> x = values(kBatch * kIn, seed, 1.0f);
  std::vector<int64_t> labels;
  for (int64_t n = 0; n < kBatch; ++n) labels.push_back(x[n * kIn] + x[n * kIn + 1] > 0 ? 1 : 0);
  Feeds feeds{{"x", Value(tensor_of(DataType::float32, {kBatch, kIn}, x))}};
  if (with_target) feeds.emplace_back("target", Value(tensor_of(DataType::int64, {kBatch}, labels)));
  return feeds;
}

ArtifactOptions adamw_options() {
  ArtifactOptions o;
  o.requires_grad = kTrainable;
  o.optimizer.config.kind = OptimizerConfig::Kind::adamw;
  o.optimizer.config.learning_rate = 0.05;
  o.optimizer.config.weight_decay = 0.01;
  return o;
}

std::unique_ptr<TrainingSession> from_artifacts(const std::string& dir) {
  auto ts = TrainingSession::create(ArtifactPaths::in(dir));
  EXPECT_TRUE(ts.is_ok()) << ts.status().message();
  return ts.is_ok() ? std::move(ts).value() : nullptr;
}

std::vector<float> train(TrainingSession& ts, int steps, uint32_t first_batch) {
  return train_steps(ts, steps, first_batch, [](uint32_t seed) { return batch(seed); });
}

TEST(TrainingArtifacts, SessionFromArtifactsTrainsAndEvaluates) {
  TempDir dir("tessera_artifacts_test");
  Status written = generate_artifacts(mlp(true), adamw_options(), dir.path());
  ASSERT_TRUE(written.is_ok()) << written.message();
  for (const char* file : {"training_model.onnx", "optimizer.cfg", "checkpoint.ckpt"})
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/" + file)) << file;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/eval_model.onnx"));
  auto ts = from_artifacts(dir.path());
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->parameter_names(), kTrainable);
  EXPECT_DOUBLE_EQ(ts->learning_rate(), 0.05);
  ASSERT_EQ(ts->train_inputs().size(), 2u);  // x and target: parameters and running statistics are fed by the session
  auto before = ts->eval_step(batch(99));
  ASSERT_TRUE(before.is_ok()) << before.status().message();
  const auto losses = train(*ts, 40, 10);
  ASSERT_EQ(losses.size(), 40u);
  EXPECT_LT(losses[39] + losses[38], 0.5f * (losses[0] + losses[1]));
  auto after = ts->eval_step(batch(99));
  ASSERT_TRUE(after.is_ok()) << after.status().message();
  EXPECT_LT(after->loss, 0.5f * before->loss);
  ASSERT_EQ(after->outputs.size(), 1u);  // logits
  EXPECT_EQ(after->outputs[0].tensor().shape(), (Shape{kBatch, 2}));
  auto names = ts->eval_output_names();
  ASSERT_TRUE(names.is_ok());
  EXPECT_EQ(*names, std::vector<std::string>{"logits"});
}

// The exported model runs in an InferenceSession without the target and gives eval_step's logits
// (BatchNormalization reads the running statistics the train steps updated).
TEST(TrainingArtifacts, ExportedInferenceModelGivesTheTrainingForwardOutputs) {
  TempDir dir("tessera_artifacts_test");
  ASSERT_TRUE(generate_artifacts(mlp(true), adamw_options(), dir.path()).is_ok());
  auto ts = from_artifacts(dir.path());
  ASSERT_TRUE(ts);
  train(*ts, 10, 10);
  const std::string path = dir.path() + "/inference.onnx";
  Status exported = ts->export_inference_model(path);
  ASSERT_TRUE(exported.is_ok()) << exported.message();
  auto session = Session::load(path);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  ASSERT_EQ(session->inputs().size(), 1u);
  EXPECT_EQ(session->inputs()[0].name, "x");
  auto got = session->run(batch(99, false));
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  auto want = ts->eval_step(batch(99));
  ASSERT_TRUE(want.is_ok());
  const Tensor& a = (*got)[0].tensor();
  const Tensor& b = want->outputs[0].tensor();
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
  // Running statistics moved away from their initial 0 / 1.
  auto exported_model = ts->inference_model();
  ASSERT_TRUE(exported_model.is_ok());
  EXPECT_NE(exported_model->graph.initializers.at("mean").data<float>()[0], 0.0f);
  EXPECT_EQ(exported_model->graph.nodes.size(), 5u);  // the loss and its target are gone
}

TEST(TrainingArtifacts, CheckpointThroughArtifactsResumes) {
  TempDir dir("tessera_artifacts_test");
  ASSERT_TRUE(generate_artifacts(mlp(true), adamw_options(), dir.path()).is_ok());
  auto straight = from_artifacts(dir.path());
  ASSERT_TRUE(straight);
  train(*straight, 5, 10);
  ASSERT_TRUE(straight->save_checkpoint(dir.path() + "/checkpoint.ckpt").is_ok());
  const auto want = train(*straight, 5, 15);
  auto resumed = from_artifacts(dir.path());  // the artifacts now hold the checkpoint at step 5
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->step(), 5);
  const auto got = train(*resumed, 5, 15);
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) EXPECT_FLOAT_EQ(got[k], want[k]) << "step " << 5 + k;
  for (size_t k = 0; k < kTrainable.size(); ++k)
    for (int64_t i = 0; i < straight->parameter(k).size(); ++i)
      EXPECT_EQ(straight->parameter(k).data<float>()[i], resumed->parameter(k).data<float>()[i]) << kTrainable[k];
}

TEST(TrainingArtifacts, EvalModelIsUsedWhenGiven) {
  TempDir dir("tessera_artifacts_test");
  ArtifactOptions o = adamw_options();
  o.eval_model = mlp(false);
  ASSERT_TRUE(generate_artifacts(mlp(true), o, dir.path()).is_ok());
  ASSERT_TRUE(std::filesystem::exists(dir.path() + "/eval_model.onnx"));
  auto ts = from_artifacts(dir.path());
  ASSERT_TRUE(ts);
  // The eval model's BatchNormalization reads its own initial statistics (0, 1), not the buffers.
  train(*ts, 3, 10);
  auto r = ts->eval_step(batch(99));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(std::isfinite(r->loss));
  ASSERT_EQ(r->outputs.size(), 1u);
}

TEST(TrainingArtifacts, OptimizerConfigRoundTripsAndNamesBadLines) {
  TempDir dir("tessera_artifacts_test");
  OptimizerArtifact o;
  o.config.kind = OptimizerConfig::Kind::sgd;
  o.config.learning_rate = 0.125;
  o.config.momentum = 0.9;
  o.config.nesterov = true;
  o.schedule = {10, 100};
  const std::string path = dir.path() + "/optimizer.cfg";
  ASSERT_TRUE(write_optimizer_config(o, path).is_ok());
  auto back = read_optimizer_config(path);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->config.kind, OptimizerConfig::Kind::sgd);
  EXPECT_DOUBLE_EQ(back->config.learning_rate, 0.125);
  EXPECT_DOUBLE_EQ(back->config.momentum, 0.9);
  EXPECT_TRUE(back->config.nesterov);
  EXPECT_EQ(back->schedule.warmup_steps, 10);
  EXPECT_EQ(back->schedule.total_steps, 100);
  { std::ofstream(path) << "optimizer adamw\nlearning_rate fast\n"; }
  auto bad = read_optimizer_config(path);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("line 2: 'fast' is not a number"), std::string::npos) << bad.status().message();
  { std::ofstream(path) << "momentun 0.9\n"; }
  bad = read_optimizer_config(path);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("unknown key 'momentun'"), std::string::npos) << bad.status().message();
}

// Each appended loss against PyTorch's formula on x = [[0.5, -2], [3, 0]], t = [[1, 0], [0, 1]].
TEST(TrainingArtifacts, AppendedLossesMatchTheirFormulas) {
  const std::vector<float> x{0.5f, -2.0f, 3.0f, 0.0f}, t{1.0f, 0.0f, 0.0f, 1.0f};
  auto bce = [](double v, double y) { return std::max(v, 0.0) - v * y + std::log1p(std::exp(-std::abs(v))); };
  const double want_mse = (0.25 + 4 + 9 + 1) / 4, want_l1 = (0.5 + 2 + 3 + 1) / 4;
  const double want_bce = (bce(0.5, 1) + bce(-2, 0) + bce(3, 0) + bce(0, 1)) / 4;
  for (auto [kind, want] : {std::pair{LossKind::mse, want_mse}, std::pair{LossKind::l1, want_l1}, std::pair{LossKind::bce_with_logits, want_bce}}) {
    Graph g;
    g.inputs.push_back(tensor_value("x", DataType::float32, {2, 2}));
    g.nodes.push_back(node("id", "Identity", {"x"}, {"y"}));
    g.outputs.push_back(tensor_value("y", DataType::float32, {2, 2}));
    auto m = append_loss(model_with(g, 17), kind);
    ASSERT_TRUE(m.is_ok()) << m.status().message();
    EXPECT_EQ(m->graph.outputs[0].name, "loss");
    auto ts = TrainingSession::create(*m, "loss", {}, OptimizerConfig{});
    ASSERT_TRUE(ts.is_ok()) << ts.status().message();
    auto r = (*ts)->eval_step({{"x", Value(tensor_of(DataType::float32, {2, 2}, x))}, {"target", Value(tensor_of(DataType::float32, {2, 2}, t))}});
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_NEAR(r->loss, want, 1e-6) << static_cast<int>(kind);
  }
  EXPECT_FALSE(parse_loss_kind("HingeLoss").is_ok());
}

TEST(TrainingArtifacts, BadArtifactsAreNamed) {
  TempDir dir("tessera_artifacts_test");
  ArtifactOptions o = adamw_options();
  o.requires_grad = {"W1", "nope"};
  Status s = generate_artifacts(mlp(true), o, dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'nope'"), std::string::npos) << s.message();
  auto missing = TrainingSession::create(ArtifactPaths::in(dir.path() + "/absent"));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("training_model.onnx"), std::string::npos) << missing.status().message();
  ASSERT_TRUE(generate_artifacts(mlp(true), adamw_options(), dir.path()).is_ok());
  { std::ofstream(dir.path() + "/checkpoint.ckpt") << "junk"; }
  auto junk = TrainingSession::create(ArtifactPaths::in(dir.path()));
  ASSERT_FALSE(junk.is_ok());
  EXPECT_NE(junk.status().message().find("not a Tessera checkpoint"), std::string::npos) << junk.status().message();
}

// torch's training-mode export computes Slice bounds from constants (Mul, Add): the session folds
// them before building the gradient, so Slice's builder sees constants. loss = sum(x * W[2:6]),
// so dL/dW = [0, 0, x], and one SGD step at rate 1 subtracts it.
TEST(TrainingSession, FoldsConstantSliceBoundsBeforeTheGradient) {
  Graph g;
  g.inputs.push_back(tensor_value("x", DataType::float32, {4}));
  g.initializers["W"] = tensor_of(DataType::float32, {6}, std::vector<float>{1, 2, 3, 4, 5, 6});
  g.initializers["two"] = tensor_of(DataType::int64, {1}, std::vector<int64_t>{2});
  g.initializers["one"] = tensor_of(DataType::int64, {1}, std::vector<int64_t>{1});
  g.initializers["four"] = tensor_of(DataType::int64, {1}, std::vector<int64_t>{4});
  g.nodes.push_back(node("starts", "Mul", {"two", "one"}, {"s"}));
  g.nodes.push_back(node("ends", "Add", {"s", "four"}, {"e"}));
  g.nodes.push_back(node("slice", "Slice", {"W", "s", "e"}, {"w"}));
  g.nodes.push_back(node("mul", "Mul", {"x", "w"}, {"xw"}));
  Node sum = node("sum", "ReduceSum", {"xw"}, {"loss"});
  sum.attributes["keepdims"] = int_attr("keepdims", 0);
  g.nodes.push_back(sum);
  g.outputs.push_back(ValueInfo{"loss", {}});
  OptimizerConfig sgd;
  sgd.learning_rate = 1.0;
  auto ts = TrainingSession::create(model_with(g, 17), "loss", {"W"}, sgd);
  ASSERT_TRUE(ts.is_ok()) << ts.status().message();
  auto loss = (*ts)->train_step({{"x", Value(tensor_of(DataType::float32, {4}, std::vector<float>{1, -1, 2, 0.5f}))}});
  ASSERT_TRUE(loss.is_ok()) << loss.status().message();
  EXPECT_FLOAT_EQ(*loss, 3 - 4 + 10 + 3);
  ASSERT_TRUE((*ts)->optimizer_step().is_ok());
  const std::vector<float> want{1, 2, 2, 5, 3, 5.5f};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ((*ts)->parameter(0).data<float>()[i], want[i]) << i;
}

// An eval model that lacks a trainable parameter (an exporter merged equal initializers) would
// evaluate stale weights: refused, naming the parameter.
TEST(TrainingArtifacts, EvalModelMissingAParameterIsRefused) {
  TempDir dir("tessera_artifacts_test");
  ArtifactOptions o = adamw_options();
  Model eval = mlp(false);
  eval.graph.initializers["W2_copy"] = eval.graph.initializers.at("W2");
  eval.graph.initializers.erase("W2");
  for (Node& n : eval.graph.nodes)
    for (std::string& in : n.inputs)
      if (in == "W2") in = "W2_copy";
  o.eval_model = eval;
  Status s = generate_artifacts(mlp(true), o, dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'W2'"), std::string::npos) << s.message();
  auto ts = TrainingSession::create(mlp(true), "logits", kTrainable, OptimizerConfig{}, {}, eval);
  ASSERT_FALSE(ts.is_ok());
  EXPECT_NE(ts.status().message().find("no initializer 'W2'"), std::string::npos) << ts.status().message();
}

}  // namespace
}  // namespace tessera
