// fuse_backward_linears: the backward graph of an MLP (as build_gradient_graphs makes it) becomes
// one LinearGrad per layer and computes what the unfused graph does; graphs it cannot match are
// left alone.
#include <array>
#include <cmath>
#include <set>

#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/test_tensors.h"
#include "tests/unit/training/gradient_test_util.h"
#include "graph/shape_inference.h"
#include "training/backward_fusion.h"
#include "training/gradient_graph.h"

namespace tessera {
namespace {

struct MlpOptions {
  std::string act1 = "Relu", act2 = "Tanh";
  bool bias = true;         // every layer has a bias
  bool input_grad = false;  // x is differentiated too (the first layer computes dX)
  DataType dtype = DataType::float32;
  int64_t rows = 6, in = 5, hidden = 7, out = 3;  // batch, x's features, hidden and output widths
};

Node linear(const std::string& name, const std::string& x, const std::string& w, const std::string& b, const std::string& y) {
  Node n = node(name, "Gemm", b.empty() ? std::vector<std::string>{x, w} : std::vector<std::string>{x, w, b}, {y});
  n.attributes["transB"] = int_attr("transB", 1);
  return n;
}

// x -> Linear -> act1 -> Linear -> act2 -> Linear -> y, the parameters graph inputs (fed, as the
// PyTorch wrapper feeds them).
Model mlp(const MlpOptions& o) {
  Graph g;
  g.name = "mlp";
  const std::vector<std::pair<int64_t, int64_t>> dims = {{o.in, o.hidden}, {o.hidden, o.hidden}, {o.hidden, o.out}};
  g.inputs.push_back(tensor_value("x", o.dtype, {o.rows, o.in}));
  for (size_t l = 0; l < 3; ++l) {
    g.inputs.push_back(tensor_value("W" + std::to_string(l), o.dtype, {dims[l].second, dims[l].first}));
    if (o.bias) g.inputs.push_back(tensor_value("b" + std::to_string(l), o.dtype, {dims[l].second}));
  }
  auto b = [&](int l) { return o.bias ? "b" + std::to_string(l) : std::string(); };
  g.nodes.push_back(linear("l0", "x", "W0", b(0), "z0"));
  g.nodes.push_back(node("a0", o.act1, {"z0"}, {"h0"}));
  g.nodes.push_back(linear("l1", "h0", "W1", b(1), "z1"));
  g.nodes.push_back(node("a1", o.act2, {"z1"}, {"h1"}));
  g.nodes.push_back(linear("l2", "h1", "W2", b(2), "y"));
  g.outputs.push_back(ValueInfo{"y", {}});
  return model_with(std::move(g), 17);
}

struct Split {
  Model model;           // the forward model extended with dL/dy as input "dy"
  Graph backward;        // split_forward_backward's backward graph
  ValueTypes types;      // of the forward values
};

Split split(const MlpOptions& o) {
  Split s{mlp(o), {}, {}};
  Graph& g = s.model.graph;
  auto types = infer_types(g, s.model, {});
  EXPECT_TRUE(types.is_ok()) << types.status().message();
  if (types.is_ok()) s.types = *types;
  g.inputs.push_back(tensor_value("dy", o.dtype, {o.rows, o.out}));
  s.types["dy"] = g.inputs.back().type;
  std::vector<std::string> xs;
  for (const ValueInfo& in : g.inputs)
    if (in.name != "dy" && (in.name != "x" || o.input_grad)) xs.push_back(in.name);
  GradientRequest request{{"y"}, {"dy"}, xs, "grad"};
  auto built = append_gradients(g, s.model, request);
  EXPECT_TRUE(built.is_ok()) << built.status().message();
  if (!built.is_ok()) return s;
  auto parts = split_forward_backward(g, s.model, request, *built);
  EXPECT_TRUE(parts.is_ok()) << parts.status().message();
  if (parts.is_ok()) s.backward = std::move(parts->backward);
  return s;
}

// The backward graph's outputs for deterministic feeds (saved activations included: the two
// graphs are compared as functions of their inputs).
std::vector<Value> run_backward(const Split& s, const Graph& backward) {
  Model m = model_with(backward, 17);
  m.opset_imports = s.model.opset_imports;
  m.opset_imports["com.tessera"] = 1;
  auto session = cpu_session(std::move(m));
  EXPECT_TRUE(session.is_ok()) << session.status().message();
  if (!session.is_ok()) return {};
  Feeds feeds;
  uint32_t seed = 11;
  for (const ValueInfo& in : backward.inputs) {
    const TypeInfo& t = s.types.at(in.name);
    Shape shape;
    for (const Dim& d : *t.shape) shape.push_back(d.value);
    std::vector<float> v = values(static_cast<size_t>(shape_size(shape)), seed++);
    // Some exact zeros, where Relu's gradient is cut.
    for (size_t i = 0; i < v.size(); i += 4) v[i] = 0.0f;
    if (t.elem_type == DataType::float64)
      feeds.emplace_back(in.name, Value(tensor_of(DataType::float64, shape, std::vector<double>(v.begin(), v.end()))));
    else
      feeds.emplace_back(in.name, Value(tensor_of(DataType::float32, shape, v)));
  }
  auto out = (*session)->run(feeds, {});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? *out : std::vector<Value>{};
}

std::multiset<std::string> op_types(const Graph& g) {
  std::multiset<std::string> ops;
  for (const Node& n : g.nodes) ops.insert(n.qualified_op_type());
  return ops;
}

void expect_same_outputs(const std::vector<Value>& fused, const std::vector<Value>& unfused, double tol) {
  ASSERT_EQ(fused.size(), unfused.size());
  for (size_t k = 0; k < fused.size(); ++k) {
    const Tensor &a = fused[k].tensor(), &b = unfused[k].tensor();
    ASSERT_EQ(a.shape(), b.shape()) << "output " << k;
    ASSERT_EQ(a.dtype(), b.dtype()) << "output " << k;
    for (int64_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(element(a, i), element(b, i), tol * (1 + std::abs(element(b, i)))) << "output " << k << "[" << i << "]";
  }
}

TEST(BackwardFusion, MlpLayersBecomeOneLinearGradEach) {
  // Odd widths, and the PyTorch wrapper test's MLP (batch 16, 64-128-128-10 here).
  for (const std::array<int64_t, 4> shape : {std::array<int64_t, 4>{6, 5, 7, 3}, std::array<int64_t, 4>{16, 64, 128, 10}})
    for (const std::string act : {"Relu", "Sigmoid", "Tanh"})
      for (bool bias : {true, false})
        for (bool input_grad : {false, true})
          for (DataType dtype : {DataType::float32, DataType::float64}) {
            SCOPED_TRACE(act + (bias ? " bias" : " no bias") + (input_grad ? " dx" : "") +
                         (dtype == DataType::float64 ? " double" : " float") + " rows " + std::to_string(shape[0]));
            MlpOptions o{act, act == "Tanh" ? "Relu" : "Tanh", bias, input_grad, dtype, shape[0], shape[1], shape[2], shape[3]};
            Split s = split(o);
            Graph fused = s.backward;
            EXPECT_EQ(fuse_backward_linears(fused, s.types), 3);
            EXPECT_EQ(op_types(fused), (std::multiset<std::string>{"com.tessera.LinearGrad", "com.tessera.LinearGrad",
                                                                    "com.tessera.LinearGrad"}));
            // The last layer has no activation after it; the two before take theirs in.
            int with_activation = 0, with_dx = 0, with_db = 0;
            for (const Node& n : fused.nodes) {
              with_activation += n.attribute("activation") != nullptr;
              with_dx += !n.outputs[0].empty();
              with_db += n.outputs.size() > 2;
            }
            EXPECT_EQ(with_activation, 2);
            EXPECT_EQ(with_dx, input_grad ? 3 : 2);
            EXPECT_EQ(with_db, bias ? 3 : 0);
            EXPECT_EQ(s.backward.initializers.size(), bias ? 3u : 0u);
            EXPECT_TRUE(fused.initializers.empty()) << "no node reads the ReduceSums' axes any more";
            EXPECT_EQ(fuse_backward_linears(fused, s.types), 0) << "nothing is left to fuse";
            expect_same_outputs(run_backward(s, fused), run_backward(s, s.backward),
                                dtype == DataType::float64 ? 1e-12 : 1e-5);
          }
}

// The first Gemm in the backward graph reading `g` with these flags.
Node* gemm_reading(Graph& g, const std::string& value, int64_t trans_a) {
  for (Node& n : g.nodes) {
    const Attribute* a = n.attribute("transA");
    if (n.op_type == "Gemm" && n.inputs[0] == value && (a ? a->i : 0) == trans_a) return &n;
  }
  return nullptr;
}

// Each change makes one layer's gradient something LinearGrad does not compute; the other two
// layers still fuse, and the graph still computes what it did.
TEST(BackwardFusion, LeavesNonMatchingGradientsAlone) {
  const MlpOptions o;
  const std::string dy = "dy";  // the last layer's g: read by its dX and dW Gemms and its ReduceSum
  struct Case {
    const char* what;
    bool valid;
    void (*edit)(Graph&, const std::string&);
  };
  const Case cases[] = {
      {"alpha", true, [](Graph& g, const std::string& v) { gemm_reading(g, v, 1)->attributes["alpha"] = float_attr("alpha", 2.0f); }},
      {"transB on dX", false, [](Graph& g, const std::string& v) { gemm_reading(g, v, 0)->attributes["transB"] = int_attr("transB", 1); }},
      {"a third input", false, [](Graph& g, const std::string& v) { gemm_reading(g, v, 1)->inputs.push_back(v); }},
      {"keepdims", false, [](Graph& g, const std::string& v) {
         for (Node& n : g.nodes)
           if (n.op_type == "ReduceSum" && n.inputs[0] == v) n.attributes["keepdims"] = int_attr("keepdims", 1);
       }},
      {"read elsewhere", true, [](Graph& g, const std::string& v) {
         g.nodes.push_back(node("neg", "Neg", {v}, {"neg_g"}));
         g.outputs.push_back(ValueInfo{"neg_g", {}});
       }},
      {"a graph output", true, [](Graph& g, const std::string& v) { g.outputs.push_back(ValueInfo{v, {}}); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Split s = split(o);
    ASSERT_NE(gemm_reading(s.backward, dy, 0), nullptr);
    ASSERT_NE(gemm_reading(s.backward, dy, 1), nullptr);
    c.edit(s.backward, dy);
    Graph fused = s.backward;
    EXPECT_EQ(fuse_backward_linears(fused, s.types), 2);
    EXPECT_EQ(op_types(fused).count("Gemm"), 2u) << "the last layer's dX and dW products stay";
    EXPECT_EQ(op_types(fused).count("com.tessera.LinearGrad"), 2u);
    // The edits that keep the graph valid still compute the same (a transposed dX product, a
    // third input or a kept dim no longer fit the declared shapes: those graphs only must not
    // be claimed).
    if (c.valid) expect_same_outputs(run_backward(s, fused), run_backward(s, s.backward), 1e-5);
  }
}

// LinearGrad takes float32 and float64: an int32 Gemm gradient keeps its nodes.
TEST(BackwardFusion, IntegerGradientIsNotFused) {
  Graph g;
  g.name = "int_grad";
  g.inputs.push_back(tensor_value("g", DataType::int32, {2, 3}));
  g.inputs.push_back(tensor_value("x", DataType::int32, {2, 4}));
  g.nodes.push_back(node("dw", "Gemm", {"g", "x"}, {"dW"}));
  g.nodes.back().attributes["transA"] = int_attr("transA", 1);
  g.outputs.push_back(ValueInfo{"dW", {}});
  Model m = model_with(g, 17);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(fuse_backward_linears(g, *types), 0);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Gemm");
}

}  // namespace
}  // namespace tessera
