// fuse_forward_activations: Gemm + Relu / Tanh become FusedGemm where nothing else reads the
// Gemm's output, and the fused forward graph computes what the unfused one does.
#include <cmath>

#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/test_tensors.h"
#include "tests/unit/training/gradient_test_util.h"
#include "graph/shape_inference.h"
#include "training/forward_fusion.h"

namespace tessera {
namespace {

constexpr int64_t kRows = 3, kIn = 4, kHidden = 5, kOut = 2;

Node gemm(const std::string& name, std::vector<std::string> in, const std::string& out) {
  Node n = node(name, "Gemm", std::move(in), {out});
  n.attributes["transB"] = int_attr("transB", 1);
  return n;
}

// x -> Gemm -> Relu (h, also an output: a saved activation) -> Gemm -> Tanh -> Gemm (y, an
// output) -> Sigmoid (s): the first two Gemms fuse; the third's output is a graph output.
Graph forward_graph() {
  Graph g;
  g.name = "forward";
  g.inputs.push_back(tensor_value("x", DataType::float32, {kRows, kIn}));
  g.initializers["W1"] = tensor_of(DataType::float32, {kHidden, kIn}, values(kHidden * kIn, 1));
  g.initializers["b1"] = tensor_of(DataType::float32, {kHidden}, values(kHidden, 2));
  g.initializers["W2"] = tensor_of(DataType::float32, {kHidden, kHidden}, values(kHidden * kHidden, 3));
  g.initializers["W3"] = tensor_of(DataType::float32, {kOut, kHidden}, values(kOut * kHidden, 4));
  g.nodes.push_back(gemm("g1", {"x", "W1", "b1"}, "z1"));
  g.nodes.push_back(node("relu", "Relu", {"z1"}, {"h"}));
  g.nodes.push_back(gemm("g2", {"h", "W2"}, "z2"));
  g.nodes.push_back(node("tanh", "Tanh", {"z2"}, {"t"}));
  g.nodes.push_back(gemm("g3", {"t", "W3"}, "y"));
  g.nodes.push_back(node("sigmoid", "Sigmoid", {"y"}, {"s"}));
  g.value_infos.push_back(tensor_value("z1", DataType::float32, {kRows, kHidden}));
  for (const char* out : {"y", "s", "h"}) g.outputs.push_back(ValueInfo{out, {}});
  return g;
}

// y = a . W^T (+ b) per row, in double.
std::vector<double> linear(const std::vector<double>& a, const std::vector<float>& w, const std::vector<float>* b,
                           int64_t in, int64_t out) {
  std::vector<double> y(static_cast<size_t>(kRows * out));
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t j = 0; j < out; ++j) {
      double s = b ? (*b)[j] : 0.0;
      for (int64_t k = 0; k < in; ++k) s += a[r * in + k] * w[j * in + k];
      y[r * out + j] = s;
    }
  return y;
}

ValueTypes types_of(const Graph& g) {
  Model m = model_with(g, 17);
  auto types = infer_types(m.graph, m, {});
  EXPECT_TRUE(types.is_ok()) << types.status().message();
  return types.is_ok() ? *types : ValueTypes{};
}

TEST(ForwardFusion, GemmActivationPairsBecomeFusedGemm) {
  Graph g = forward_graph();
  const ValueTypes types = types_of(g);
  EXPECT_EQ(fuse_forward_activations(g, types), 2);
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[0].qualified_op_type(), "com.microsoft.FusedGemm");
  EXPECT_EQ(g.nodes[0].attribute("activation")->s, "Relu");
  EXPECT_EQ(g.nodes[0].outputs, std::vector<std::string>{"h"});
  EXPECT_EQ(g.nodes[1].attribute("activation")->s, "Tanh");
  EXPECT_EQ(g.nodes[1].outputs, std::vector<std::string>{"t"});
  EXPECT_EQ(g.nodes[2].op_type, "Gemm") << "its output y is a graph output";
  EXPECT_EQ(g.nodes[3].op_type, "Sigmoid");
  EXPECT_TRUE(g.value_infos.empty()) << "z1 is no longer a value of the graph";
  EXPECT_EQ(fuse_forward_activations(g, types), 0);

  Model m = model_with(std::move(g), 17);
  m.opset_imports[kFusedGemmDomain] = kFusedGemmVersion;
  auto session = cpu_session(std::move(m));
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  const std::vector<float> x = values(kRows * kIn, 5);
  auto out = (*session)->run({{"x", Value(tensor_of(DataType::float32, {kRows, kIn}, x))}}, {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();

  const std::vector<float> w1 = values(kHidden * kIn, 1), b1 = values(kHidden, 2), w2 = values(kHidden * kHidden, 3),
                           w3 = values(kOut * kHidden, 4);
  std::vector<double> h = linear(std::vector<double>(x.begin(), x.end()), w1, &b1, kIn, kHidden);
  for (double& v : h) v = std::max(v, 0.0);
  std::vector<double> t = linear(h, w2, nullptr, kHidden, kHidden);
  for (double& v : t) v = std::tanh(v);
  const std::vector<double> y = linear(t, w3, nullptr, kHidden, kOut);
  for (int64_t i = 0; i < kRows * kOut; ++i) {
    EXPECT_NEAR(element((*out)[0].tensor(), i), y[i], 1e-5) << "y[" << i << "]";
    EXPECT_NEAR(element((*out)[1].tensor(), i), 1.0 / (1.0 + std::exp(-y[i])), 1e-5) << "s[" << i << "]";
  }
  for (int64_t i = 0; i < kRows * kHidden; ++i) EXPECT_NEAR(element((*out)[2].tensor(), i), h[i], 1e-5) << "h[" << i << "]";
}

// A Gemm whose output another node reads too keeps its activation separate.
TEST(ForwardFusion, GemmOutputReadTwiceIsNotFused) {
  Graph g = forward_graph();
  g.nodes.push_back(node("add", "Add", {"z1", "z1"}, {"twice"}));
  g.outputs.push_back(ValueInfo{"twice", {}});
  EXPECT_EQ(fuse_forward_activations(g, types_of(g)), 1);
  EXPECT_EQ(g.nodes[0].op_type, "Gemm");
  EXPECT_EQ(g.nodes[1].op_type, "Relu");
}

// FusedGemm's activations take float types only: an int32 Gemm keeps its Relu.
TEST(ForwardFusion, IntegerGemmIsNotFused) {
  Graph g;
  g.name = "int_gemm";
  g.inputs.push_back(tensor_value("x", DataType::int32, {2, 3}));
  g.initializers["W"] = tensor_of(DataType::int32, {3, 2}, std::vector<int32_t>{1, -2, 3, -4, 5, -6});
  g.nodes.push_back(node("gemm", "Gemm", {"x", "W"}, {"z"}));
  g.nodes.push_back(node("relu", "Relu", {"z"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", {}});
  const ValueTypes types = types_of(g);
  ASSERT_EQ(types.count("z"), 1u);
  EXPECT_EQ(types.at("z").elem_type, DataType::int32);
  EXPECT_EQ(fuse_forward_activations(g, types), 0);
  EXPECT_EQ(g.nodes.size(), 2u);
}

}  // namespace
}  // namespace tessera
