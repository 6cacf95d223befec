// packed_qkv_fusion: a com.tessera Attention whose Q, K and V are thirds of one value (Slices)
// or three bias-only projections of one input reads them packed from one value; checked on the
// rewritten graph and on the numbers (against the unoptimized graph), and the cases it must leave.
#include <utility>

#include "optimizer/graph_edit.h"
#include "optimizer/transformers.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

constexpr int64_t kB = 2, kS = 5, kHeads = 2, kE = 8;  // head size 4

Node attention(const std::vector<std::string>& in, bool sequence_first) {
  Node a = node("attention", "Attention", in, {"y"});
  a.domain = "com.tessera";
  a.attributes["num_heads"] = int_attr("num_heads", kHeads);
  a.attributes["scale"] = float_attr("scale", 0.5f);
  if (sequence_first) a.attributes["sequence_first"] = int_attr("sequence_first", 1);
  return a;
}

Model base_model() {
  Model m;
  m.opset_imports[""] = 17;
  m.opset_imports["com.tessera"] = 1;
  return m;
}

// x [S, B, 3E] (sequence first) sliced into Q, K, V along the last axis: bounds[i] is the
// [start, end) of the i-th.
using Bounds = std::vector<std::pair<int64_t, int64_t>>;
Model sliced_model(const Bounds& bounds, bool q_read_elsewhere = false) {
  Model m = base_model();
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {kS, kB, 3 * kE}));
  m.graph.initializers["axis_last"] = int64_vector({-1});
  const char* names[] = {"q", "k", "v"};
  for (size_t i = 0; i < 3; ++i) {
    const std::string n = names[i];
    m.graph.initializers[n + "_start"] = int64_vector({bounds[i].first});
    m.graph.initializers[n + "_end"] = int64_vector({bounds[i].second});
    m.graph.nodes.push_back(node("slice_" + n, "Slice", {"x", n + "_start", n + "_end", "axis_last"}, {n}));
  }
  const int64_t width = bounds[0].second - bounds[0].first;
  m.graph.nodes.push_back(attention({"q", "k", "v"}, true));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {kS, kB * kHeads, width / kHeads}));
  if (q_read_elsewhere) m.graph.outputs.push_back(tensor_value("q", DataType::float32, {kS, kB, width}));
  return m;
}

const Node* attention_of(const SessionState& state) {
  for (const Node& n : state.model().graph.nodes)
    if (n.op_type == "Attention") return &n;
  return nullptr;
}

TEST(PackedQkvFusion, SlicesInThirdsAreReadInPlace) {
  // The last third may end anywhere past the axis (INT64_MAX: "to the end").
  for (int64_t last_end : {3 * kE, int64_t{1} << 62}) {
    const Model m = sliced_model({{0, kE}, {kE, 2 * kE}, {2 * kE, last_end}});
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, {{"x", Value(float_tensor({kS, kB, 3 * kE}, 7))}});
    EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.Attention", 1}}));
    auto state = session_at(m, OptimizationLevel::extended);
    ASSERT_TRUE(state);
    const Node* att = attention_of(*state);
    ASSERT_NE(att, nullptr);
    EXPECT_EQ(att->inputs, (std::vector<std::string>{"x", "", ""}));
  }
}

TEST(PackedQkvFusion, LeavesSlicesThatAreNotThirdsOrAreReadElsewhere) {
  const Feeds feeds{{"x", Value(float_tensor({kS, kB, 3 * kE}, 8))}};
  // Q and K swapped: the thirds in another order.
  auto swapped = expect_same_outputs(sliced_model({{kE, 2 * kE}, {0, kE}, {2 * kE, 3 * kE}}), OptimizationLevel::extended, feeds);
  EXPECT_EQ(swapped["Slice"], 3);
  // Shorter slices (4 of each 8) leave part of the row out.
  auto shorter = expect_same_outputs(sliced_model({{0, 4}, {kE, kE + 4}, {2 * kE, 2 * kE + 4}}), OptimizationLevel::extended, feeds);
  EXPECT_EQ(shorter["Slice"], 3);
  auto escaping = expect_same_outputs(sliced_model({{0, kE}, {kE, 2 * kE}, {2 * kE, 3 * kE}}, true), OptimizationLevel::extended, feeds);
  EXPECT_EQ(escaping["Slice"], 3);
}

// x [B, S, E] projected three times (bias, optional activation) into Q, K, V, with a key mask.
Model projected_model(const std::string& v_activation = "", bool v_from_other_input = false) {
  Model m = base_model();
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {kB, kS, kE}));
  m.graph.inputs.push_back(tensor_value("x2", DataType::float32, {kB, kS, kE}));
  m.graph.inputs.push_back(tensor_value("mask", DataType::float32, {kB, 1, 1, kS}));
  const char* names[] = {"q", "k", "v"};
  for (uint32_t i = 0; i < 3; ++i) {
    const std::string n = names[i];
    m.graph.initializers["w_" + n] = float_tensor({kE, kE}, 20 + i);
    m.graph.initializers["b_" + n] = float_tensor({kE}, 30 + i);
    const std::string in = i == 2 && v_from_other_input ? "x2" : "x";
    Node p = node("proj_" + n, "FusedMatMul", {in, "w_" + n, "b_" + n}, {n});
    p.domain = "com.tessera";
    if (i == 2 && !v_activation.empty()) p.attributes["activation"] = string_attr("activation", v_activation);
    m.graph.nodes.push_back(p);
  }
  m.graph.nodes.push_back(attention({"q", "k", "v", "mask"}, false));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {kB, kS, kHeads, kE / kHeads}));
  return m;
}

Feeds projected_feeds() {
  return {{"x", Value(float_tensor({kB, kS, kE}, 1))},
          {"x2", Value(float_tensor({kB, kS, kE}, 2))},
          {"mask", Value(float_tensor({kB, 1, 1, kS}, 3))}};
}

TEST(PackedQkvFusion, ThreeProjectionsOfOneInputBecomeOne) {
  const Model m = projected_model();
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, projected_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedMatMul", 1}, {"com.tessera.Attention", 1}}));
  // The pass alone (a session releases the weights once its kernels have packed them).
  Model fused = m;
  std::vector<std::unique_ptr<GraphTransformer>> passes;
  passes.push_back(make_packed_qkv_fusion());
  passes.push_back(make_dead_code_elimination());
  auto report = optimize_model(fused, passes, {});
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ((*report)[0].rewrites, 1);
  const Graph& g = fused.graph;
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node& att = g.nodes[1];
  EXPECT_EQ(att.inputs, (std::vector<std::string>{"q", "", "", "mask"}));
  // The weights side by side: row r is Wq[r], Wk[r], Wv[r]; the biases likewise.
  const Node& proj = g.nodes[0];
  ASSERT_EQ(proj.op_type, "FusedMatMul");
  EXPECT_EQ(proj.inputs[0], "x");
  const Tensor& w = g.initializers.at(proj.inputs[1]);
  const Tensor& b = g.initializers.at(proj.inputs[2]);
  ASSERT_EQ(w.shape(), (Shape{kE, 3 * kE}));
  ASSERT_EQ(b.shape(), (Shape{3 * kE}));
  const Tensor wk = float_tensor({kE, kE}, 21), bv = float_tensor({kE}, 32);
  EXPECT_EQ(w.data<float>()[2 * 3 * kE + kE + 5], wk.data<float>()[2 * kE + 5]);
  EXPECT_EQ(b.data<float>()[2 * kE + 3], bv.data<float>()[3]);
  // The three original weights are gone.
  EXPECT_EQ(g.initializers.count("w_q") + g.initializers.count("w_k") + g.initializers.count("w_v"), 0u);
}

TEST(PackedQkvFusion, LeavesProjectionsWithAnActivationOrAnotherInput) {
  EXPECT_EQ(expect_same_outputs(projected_model("Relu"), OptimizationLevel::extended, projected_feeds())["com.tessera.FusedMatMul"], 3);
  EXPECT_EQ(expect_same_outputs(projected_model("", true), OptimizationLevel::extended, projected_feeds())["com.tessera.FusedMatMul"], 3);
}

}  // namespace
}  // namespace tessera
