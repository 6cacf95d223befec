// The gradient-graph builder: an MLP's gradients against a hand-written backward pass, the
// forward/backward split, accumulation of a value read twice, and clear errors.
#include <cmath>
#include <set>

#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/test_tensors.h"
#include "tests/unit/training/gradient_test_util.h"
#include "training/gradient_graph.h"
#include "training/gradient_op.h"

namespace tessera {
namespace {

constexpr int64_t kBatch = 4, kIn = 3, kHidden = 5, kClasses = 2;

const std::vector<int64_t> kLabels = {1, 0, 1, 1};

// x -> MatMul(W1) -> Add(b1) -> Relu -> Gemm(W2^T, b2) -> SoftmaxCrossEntropyLoss(labels), mean.
Model mlp() {
  Graph g;
  g.name = "mlp";
  g.inputs.push_back(tensor_value("x", DataType::float32, {kBatch, kIn}));
  g.initializers["W1"] = tensor_of(DataType::float32, {kIn, kHidden}, values(kIn * kHidden, 1));
  g.initializers["b1"] = tensor_of(DataType::float32, {kHidden}, values(kHidden, 2));
  g.initializers["W2"] = tensor_of(DataType::float32, {kClasses, kHidden}, values(kClasses * kHidden, 3));
  g.initializers["b2"] = tensor_of(DataType::float32, {kClasses}, values(kClasses, 4));
  g.initializers["labels"] = tensor_of(DataType::int64, {kBatch}, kLabels);
  g.nodes.push_back(node("mm1", "MatMul", {"x", "W1"}, {"xw"}));
  g.nodes.push_back(node("add1", "Add", {"xw", "b1"}, {"z1"}));
  g.nodes.push_back(node("relu", "Relu", {"z1"}, {"h"}));
  Node gemm = node("gemm", "Gemm", {"h", "W2", "b2"}, {"logits"});
  gemm.attributes["transB"] = int_attr("transB", 1);
  g.nodes.push_back(gemm);
  g.nodes.push_back(node("loss", "SoftmaxCrossEntropyLoss", {"logits", "labels"}, {"loss"}));
  g.outputs.push_back(ValueInfo{"loss", {}});
  return model_with(g, 17);
}

// The same MLP's loss and gradients, written out by hand in double.
struct Reference {
  double loss = 0;
  std::vector<double> dW1, db1, dW2, db2;
};

Reference reference(const std::vector<float>& x) {
  auto W1 = values(kIn * kHidden, 1), b1 = values(kHidden, 2), W2 = values(kClasses * kHidden, 3), b2 = values(kClasses, 4);
  Reference r;
  r.dW1.assign(W1.size(), 0);
  r.db1.assign(b1.size(), 0);
  r.dW2.assign(W2.size(), 0);
  r.db2.assign(b2.size(), 0);
  for (int64_t n = 0; n < kBatch; ++n) {
    std::vector<double> z1(kHidden), h(kHidden), z2(kClasses), p(kClasses);
    for (int64_t j = 0; j < kHidden; ++j) {
      z1[j] = b1[j];
      for (int64_t i = 0; i < kIn; ++i) z1[j] += x[n * kIn + i] * W1[i * kHidden + j];
      h[j] = z1[j] > 0 ? z1[j] : 0;
    }
    double total = 0;
    for (int64_t c = 0; c < kClasses; ++c) {
      z2[c] = b2[c];
      for (int64_t j = 0; j < kHidden; ++j) z2[c] += h[j] * W2[c * kHidden + j];
      total += std::exp(z2[c]);
    }
    for (int64_t c = 0; c < kClasses; ++c) p[c] = std::exp(z2[c]) / total;
    r.loss -= std::log(p[kLabels[n]]) / kBatch;
    std::vector<double> dh(kHidden, 0);
    for (int64_t c = 0; c < kClasses; ++c) {
      const double dz2 = (p[c] - (c == kLabels[n] ? 1 : 0)) / kBatch;
      r.db2[c] += dz2;
      for (int64_t j = 0; j < kHidden; ++j) {
        r.dW2[c * kHidden + j] += dz2 * h[j];
        dh[j] += dz2 * W2[c * kHidden + j];
      }
    }
    for (int64_t j = 0; j < kHidden; ++j) {
      const double dz1 = z1[j] > 0 ? dh[j] : 0;
      r.db1[j] += dz1;
      for (int64_t i = 0; i < kIn; ++i) r.dW1[i * kHidden + j] += x[n * kIn + i] * dz1;
    }
  }
  return r;
}

void expect_close(const Tensor& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), static_cast<int64_t>(want.size())) << what;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(element(got, static_cast<int64_t>(i)), want[i], 1e-5 + 1e-4 * std::abs(want[i])) << what << "[" << i << "]";
}

const std::vector<std::string> kParams = {"W1", "b1", "W2", "b2"};

TEST(GradientGraph, MlpMatchesHandWrittenBackward) {
  Model m = mlp();
  GradientRequest request{{"loss"}, {""}, kParams};
  auto built = append_gradients(m.graph, m, request);
  ASSERT_TRUE(built.is_ok()) << built.status().message();
  for (const std::string& g : built->x_grads) m.graph.outputs.push_back(ValueInfo{g, {}});
  auto session = cpu_session(m);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  const std::vector<float> x = values(kBatch * kIn, 5);
  auto out = (*session)->run({{"x", Value(tensor_of(DataType::float32, {kBatch, kIn}, x))}}, {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  ASSERT_EQ(out->size(), 5u);
  const Reference want = reference(x);
  EXPECT_NEAR(element((*out)[0].tensor(), 0), want.loss, 1e-5);
  expect_close((*out)[1].tensor(), want.dW1, "dW1");
  expect_close((*out)[2].tensor(), want.db1, "db1");
  expect_close((*out)[3].tensor(), want.dW2, "dW2");
  expect_close((*out)[4].tensor(), want.db2, "db2");
}

// Forward then backward as two sessions give the whole graph's gradients, and the forward pass
// hands over only what the backward nodes read.
TEST(GradientGraph, ForwardBackwardSplitKeepsOnlyWhatBackwardReads) {
  Model m = mlp();
  GradientRequest request{{"loss"}, {""}, kParams};
  auto built = append_gradients(m.graph, m, request);
  ASSERT_TRUE(built.is_ok()) << built.status().message();
  const std::set<std::string> saved(built->saved.begin(), built->saved.end());
  EXPECT_TRUE(saved.count("h")) << "Relu's and Gemm's gradients read the activation";
  EXPECT_FALSE(saved.count("xw")) << "MatMul's output is not read backward";
  EXPECT_FALSE(saved.count("z1")) << "Relu's gradient reads its output, not its input";
  auto parts = split_forward_backward(m.graph, m, request, *built);
  ASSERT_TRUE(parts.is_ok()) << parts.status().message();
  ASSERT_EQ(parts->forward.outputs.size(), 1 + built->saved.size());

  auto forward = cpu_session(model_with(parts->forward, 17));
  // The backward graph holds a com.tessera ActivationGrad (Relu's): it imports what m imports.
  Model backward_model = model_with(parts->backward, 17);
  backward_model.opset_imports = m.opset_imports;
  auto backward = cpu_session(backward_model);
  ASSERT_TRUE(forward.is_ok()) << forward.status().message();
  ASSERT_TRUE(backward.is_ok()) << backward.status().message();
  const std::vector<float> x = values(kBatch * kIn, 5);
  const Value x_value(tensor_of(DataType::float32, {kBatch, kIn}, x));
  auto fwd = (*forward)->run({{"x", x_value}}, {});
  ASSERT_TRUE(fwd.is_ok()) << fwd.status().message();
  Feeds feeds;
  for (size_t k = 0; k < built->saved.size(); ++k) feeds.emplace_back(built->saved[k], (*fwd)[1 + k]);
  for (const ValueInfo& in : parts->backward.inputs)
    if (in.name == "x") feeds.emplace_back("x", x_value);
  auto grads = (*backward)->run(feeds, {});
  ASSERT_TRUE(grads.is_ok()) << grads.status().message();
  const Reference want = reference(x);
  EXPECT_NEAR(element((*fwd)[0].tensor(), 0), want.loss, 1e-5);
  expect_close((*grads)[0].tensor(), want.dW1, "dW1");
  expect_close((*grads)[1].tensor(), want.db1, "db1");
  expect_close((*grads)[2].tensor(), want.dW2, "dW2");
  expect_close((*grads)[3].tensor(), want.db2, "db2");
}

// y = x * x + x reads x three times: dy/dx = 2x + 1, through one Sum.
TEST(GradientGraph, SumsGradientsOfValueReadTwice) {
  Graph g;
  g.name = "reuse";
  g.inputs.push_back(tensor_value("x", DataType::float32, {3}));
  g.nodes.push_back(node("sq", "Mul", {"x", "x"}, {"x2"}));
  g.nodes.push_back(node("add", "Add", {"x2", "x"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", {}});
  Model m = model_with(g, 17);
  auto built = append_gradients(m.graph, m, GradientRequest{{"y"}, {""}, {"x"}});
  ASSERT_TRUE(built.is_ok()) << built.status().message();
  size_t sums = 0;
  for (const Node& n : m.graph.nodes) sums += n.op_type == "Sum";
  EXPECT_EQ(sums, 1u);
  m.graph.outputs = {ValueInfo{built->x_grads[0], {}}};
  auto session = cpu_session(m);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto out = (*session)->run({{"x", Value(tensor_of(DataType::float32, {3}, std::vector<float>{1.0f, -2.0f, 0.5f}))}}, {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0].tensor(), {3.0, -3.0, 2.0}, "dy/dx");
}

// A value the loss does not depend on gets a zero gradient of its shape.
TEST(GradientGraph, UnreachedValueGetsZeros) {
  Graph g;
  g.name = "unreached";
  g.inputs.push_back(tensor_value("x", DataType::float32, {2}));
  g.inputs.push_back(tensor_value("unused", DataType::float32, {3}));
  g.nodes.push_back(node("neg", "Neg", {"x"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", {}});
  Model m = model_with(g, 17);
  auto built = append_gradients(m.graph, m, GradientRequest{{"y"}, {""}, {"x", "unused"}});
  ASSERT_TRUE(built.is_ok()) << built.status().message();
  m.graph.outputs = {ValueInfo{built->x_grads[0], {}}, ValueInfo{built->x_grads[1], {}}};
  auto session = cpu_session(m);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto out = (*session)->run({{"x", Value(zeros(DataType::float32, {2}))}, {"unused", Value(zeros(DataType::float32, {3}))}}, {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0].tensor(), {-1.0, -1.0}, "dy/dx");
  expect_close((*out)[1].tensor(), {0.0, 0.0, 0.0}, "dy/dunused");
}

// Conv -> BatchNormalization (training) -> Relu -> MaxPool: the gradients of Conv's weights,
// BatchNormalization and MaxPool are one com.tessera kernel each, the model imports their
// domain, and the split's backward graph keeps it (its types inferred through the kernels' rules).
TEST(GradientGraph, ConvBlockUsesTheGradientKernels) {
  Graph g;
  g.name = "conv_block";
  g.inputs.push_back(tensor_value("x", DataType::float32, {2, 1, 4, 4}));
  g.initializers["W"] = tensor_of(DataType::float32, {3, 1, 3, 3}, values(27, 1));
  g.initializers["scale"] = tensor_of(DataType::float32, {3}, values(3, 2));
  g.initializers["bias"] = tensor_of(DataType::float32, {3}, values(3, 3));
  g.initializers["mean"] = zeros(DataType::float32, {3});
  g.initializers["var"] = tensor_of(DataType::float32, {3}, std::vector<float>{1, 1, 1});
  Node conv = node("conv", "Conv", {"x", "W"}, {"c"});
  conv.attributes["pads"] = ints_attr("pads", {1, 1, 1, 1});
  g.nodes.push_back(conv);
  Node bn = node("bn", "BatchNormalization", {"c", "scale", "bias", "mean", "var"}, {"b"});
  bn.attributes["training_mode"] = int_attr("training_mode", 1);
  g.nodes.push_back(bn);
  g.nodes.push_back(node("relu", "Relu", {"b"}, {"r"}));
  Node pool = node("pool", "MaxPool", {"r"}, {"y"});
  pool.attributes["kernel_shape"] = ints_attr("kernel_shape", {2, 2});
  pool.attributes["strides"] = ints_attr("strides", {2, 2});
  g.nodes.push_back(pool);
  g.outputs.push_back(ValueInfo{"y", {}});
  Model m = model_with(g, 17);
  GradientRequest request{{"y"}, {""}, {"W", "scale", "bias"}};
  auto built = append_gradients(m.graph, m, request);
  ASSERT_TRUE(built.is_ok()) << built.status().message();
  EXPECT_EQ(m.opset_version(kGradientKernelDomain), kGradientKernelVersion);
  std::multiset<std::string> kernels;
  for (size_t i = built->first_backward_node; i < m.graph.nodes.size(); ++i)
    if (m.graph.nodes[i].domain == kGradientKernelDomain) kernels.insert(m.graph.nodes[i].op_type);
  EXPECT_EQ(kernels, (std::multiset<std::string>{"ActivationGrad", "BatchNormalizationGrad", "ConvWeightGrad", "MaxPoolGrad"}));
  auto split = split_forward_backward(m.graph, m, request, *built);
  ASSERT_TRUE(split.is_ok()) << split.status().message();
  for (const ValueInfo& out : split->backward.outputs) EXPECT_TRUE(out.type.shape.has_value()) << out.name << " has no inferred shape";
}

TEST(GradientGraph, OpWithoutBuilderIsNamed) {
  Graph g;
  g.name = "cumsum";
  g.inputs.push_back(tensor_value("x", DataType::float32, {3}));
  g.initializers["axis"] = Tensor::scalar(DataType::int64, int64_t{0});
  g.nodes.push_back(node("running_total", "CumSum", {"x", "axis"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", {}});
  Model m = model_with(g, 17);
  auto built = append_gradients(m.graph, m, GradientRequest{{"y"}, {""}, {"x"}});
  ASSERT_FALSE(built.is_ok());
  EXPECT_EQ(built.status().code(), StatusCode::not_implemented);
  EXPECT_NE(built.status().message().find("CumSum"), std::string::npos) << built.status().message();
  EXPECT_NE(built.status().message().find("running_total"), std::string::npos) << built.status().message();
}

// The ONNX Gradient operator: d = (a + b) * a gives dd/da = 2a + b, dd/db = a.
Model gradient_op_model(std::vector<std::string> gradient_inputs) {
  Graph g;
  g.name = "gradient_op";
  g.inputs.push_back(tensor_value("a", DataType::float32, {}));
  g.inputs.push_back(tensor_value("b", DataType::float32, {}));
  g.nodes.push_back(node("add", "Add", {"a", "b"}, {"c"}));
  g.nodes.push_back(node("mul", "Mul", {"c", "a"}, {"d"}));
  Node grad = node("grad", "Gradient", std::move(gradient_inputs), {"dd_da", "dd_db"});
  grad.domain = "ai.onnx.preview.training";
  grad.attributes["xs"] = strings_attr("xs", {"a", "b"});
  grad.attributes["y"] = string_attr("y", "d");
  g.nodes.insert(g.nodes.begin(), grad);  // before the nodes it differentiates: order is restored
  for (const char* out : {"d", "dd_da", "dd_db"}) g.outputs.push_back(ValueInfo{out, {}});
  Model m = model_with(g, 12);
  m.opset_imports["ai.onnx.preview.training"] = 1;
  return m;
}

TEST(GradientOp, ExpandsIntoBackwardNodes) {
  Model m = gradient_op_model({"a", "b"});
  ASSERT_TRUE(expand_gradient_ops(m).is_ok());
  EXPECT_EQ(count_ops(m.graph).count("ai.onnx.preview.training.Gradient"), 0u);
  auto session = cpu_session(m);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto out = (*session)->run({{"a", Value(Tensor::scalar(DataType::float32, 3.0f))}, {"b", Value(Tensor::scalar(DataType::float32, 5.0f))}}, {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_FLOAT_EQ(element((*out)[0].tensor(), 0), 24.0f);
  EXPECT_FLOAT_EQ(element((*out)[1].tensor(), 0), 11.0f);
  EXPECT_FLOAT_EQ(element((*out)[2].tensor(), 0), 3.0f);
}

TEST(GradientOp, InputsOtherThanXsAreAnError) {
  Model m = gradient_op_model({"b", "a"});
  Status s = expand_gradient_ops(m);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("node 'grad'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("inputs must be the xs"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera
