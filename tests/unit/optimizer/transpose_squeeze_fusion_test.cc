// Transpose pairs, and Squeeze/Unsqueeze pairs, cancelled or merged.
#include "optimizer/graph_edit.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

Node transpose(const std::string& in, const std::string& out, std::vector<int64_t> perm) {
  Node t = node(out + "_t", "Transpose", {in}, {out});
  t.attributes["perm"] = ints_attr("perm", std::move(perm));
  return t;
}

TEST(TransposeFusion, CancelsInversePairsAndMergesOthers) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3, 4}));
  m.graph.nodes.push_back(transpose("x", "a", {1, 2, 0}));
  m.graph.nodes.push_back(transpose("a", "b", {2, 0, 1}));  // inverse: x again
  m.graph.nodes.push_back(transpose("x", "c", {1, 0, 2}));
  m.graph.nodes.push_back(transpose("c", "d", {0, 2, 1}));  // one Transpose {1, 2, 0}
  m.graph.nodes.push_back(node("relu", "Relu", {"b"}, {"y1"}));
  m.graph.nodes.push_back(node("neg", "Neg", {"d"}, {"y2"}));
  m.graph.outputs.push_back(tensor_value("y1", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("y2", DataType::float32, {3, 4, 2}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3, 4}, 1))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Neg", 1}, {"Relu", 1}, {"Transpose", 1}}));
}

TEST(TransposeFusion, KeepsTheFirstWhileSomethingElseReadsIt) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  m.graph.nodes.push_back(transpose("x", "a", {1, 0}));
  m.graph.nodes.push_back(transpose("a", "b", {1, 0}));
  m.graph.nodes.push_back(node("relu", "Relu", {"b"}, {"y1"}));
  m.graph.outputs.push_back(tensor_value("y1", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("a", DataType::float32, {3, 2}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3}, 1))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}, {"Transpose", 1}}));
}

// x[3,4] through two nodes of `ops` with `axes1`, `axes2`, then Relu; at opset 11 (attributes)
// and 13 (inputs).
Model squeeze_chain(int64_t opset, std::vector<int64_t> x_shape, const char* op1, std::vector<int64_t> axes1, const char* op2,
                    std::vector<int64_t> axes2, std::vector<int64_t> y_shape) {
  Model m;
  m.opset_imports[""] = opset;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, x_shape));
  Node n1 = node("n1", op1, {"x"}, {"a"});
  Node n2 = node("n2", op2, {"a"}, {"b"});
  if (opset < 13) {
    n1.attributes["axes"] = ints_attr("axes", axes1);
    n2.attributes["axes"] = ints_attr("axes", axes2);
  } else {
    m.graph.initializers["axes1"] = int64_vector(axes1);
    m.graph.initializers["axes2"] = int64_vector(axes2);
    n1.inputs.push_back("axes1");
    n2.inputs.push_back("axes2");
  }
  m.graph.nodes.push_back(n1);
  m.graph.nodes.push_back(n2);
  m.graph.nodes.push_back(node("relu", "Relu", {"b"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, y_shape));
  return m;
}

TEST(SqueezeUnsqueezeFusion, CancelsAndMergesAtBothOpsets) {
  for (int64_t opset : {11, 13}) {
    Feeds x34 = {{"x", Value(float_tensor({3, 4}, 1))}};
    auto ops = expect_same_outputs(squeeze_chain(opset, {3, 4}, "Unsqueeze", {0}, "Squeeze", {0}, {3, 4}),
                                   OptimizationLevel::basic, x34);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}})) << opset;
    // Negative axes with the rank declared: Unsqueeze -1 of [3,4] then Squeeze 2 of [3,4,1].
    ops = expect_same_outputs(squeeze_chain(opset, {3, 4}, "Unsqueeze", {-1}, "Squeeze", {2}, {3, 4}),
                              OptimizationLevel::basic, x34);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}})) << opset;
    ops = expect_same_outputs(squeeze_chain(opset, {3, 4}, "Unsqueeze", {1}, "Unsqueeze", {0}, {1, 3, 1, 4}),
                              OptimizationLevel::basic, x34);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}, {"Unsqueeze", 1}})) << opset;
    ops = expect_same_outputs(squeeze_chain(opset, {3, 4}, "Unsqueeze", {2, 0}, "Unsqueeze", {-1, 1}, {1, 1, 3, 1, 4, 1}),
                              OptimizationLevel::basic, x34);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}, {"Unsqueeze", 1}})) << opset;
    Feeds x1314 = {{"x", Value(float_tensor({1, 3, 1, 4}, 2))}};
    ops = expect_same_outputs(squeeze_chain(opset, {1, 3, 1, 4}, "Squeeze", {0}, "Squeeze", {1}, {3, 4}),
                              OptimizationLevel::basic, x1314);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}, {"Squeeze", 1}})) << opset;
    ops = expect_same_outputs(squeeze_chain(opset, {1, 3, 1, 4}, "Squeeze", {2}, "Unsqueeze", {2}, {1, 3, 1, 4}),
                              OptimizationLevel::basic, x1314);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}})) << opset;
    // Different axes: a real reshuffle, kept.
    ops = expect_same_outputs(squeeze_chain(opset, {1, 3, 1, 4}, "Squeeze", {0}, "Unsqueeze", {1}, {3, 1, 1, 4}),
                              OptimizationLevel::basic, x1314);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Relu", 1}, {"Squeeze", 1}, {"Unsqueeze", 1}})) << opset;
  }
}

}  // namespace
}  // namespace tessera
