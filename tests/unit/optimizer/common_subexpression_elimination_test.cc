// Common subexpressions: equal nodes on equal inputs are computed once.
#include "optimizer/graph_edit.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

Feeds x_feeds() { return {{"x", Value(float_tensor({2, 3}, 1))}}; }

Model model_with_input() {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  return m;
}

TEST(CommonSubexpressionElimination, MergesEqualNodesAndEqualConstantsInChains) {
  Model m = model_with_input();
  m.graph.initializers["c1"] = float_tensor({3}, 7);
  m.graph.initializers["c2"] = float_tensor({3}, 7);  // same contents, another name
  for (const char* k : {"1", "2"}) {
    const std::string s(k);
    Node leaky = node("leaky" + s, "LeakyRelu", {"x"}, {"l" + s});
    leaky.attributes["alpha"] = float_attr("alpha", 0.2f);
    m.graph.nodes.push_back(leaky);
    m.graph.nodes.push_back(node("mul" + s, "Mul", {"l" + s, "c" + s}, {"m" + s}));
  }
  m.graph.nodes.push_back(node("add", "Add", {"m1", "m2"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}, {"LeakyRelu", 1}, {"Mul", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->model().graph.initializers.size(), 1u);
}

TEST(CommonSubexpressionElimination, MergesConstantNodesByValue) {
  Model m = model_with_input();
  for (const char* k : {"1", "2"}) {
    Node c = node(std::string("const") + k, "Constant", {}, {std::string("k") + k});
    c.attributes["value"] = tensor_attr("value", float_tensor({3}, 9));
    m.graph.nodes.push_back(c);
    m.graph.nodes.push_back(node(std::string("sub") + k, "Sub", {"x", std::string("k") + k}, {std::string("s") + k}));
  }
  m.graph.nodes.push_back(node("add", "Add", {"s1", "s2"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}, {"Constant", 1}, {"Sub", 1}}));
}

TEST(CommonSubexpressionElimination, KeepsDifferentAttributesRandomOpsAndTwoGraphOutputs) {
  Model m = model_with_input();
  for (float alpha : {0.1f, 0.2f}) {
    const std::string s = alpha < 0.15f ? "1" : "2";
    Node leaky = node("leaky" + s, "LeakyRelu", {"x"}, {"l" + s});
    leaky.attributes["alpha"] = float_attr("alpha", alpha);
    m.graph.nodes.push_back(leaky);
  }
  m.graph.nodes.push_back(node("add", "Add", {"l1", "l2"}, {"y"}));
  m.graph.nodes.push_back(node("rand1", "RandomUniformLike", {"x"}, {"r1"}));
  m.graph.nodes.push_back(node("rand2", "RandomUniformLike", {"x"}, {"r2"}));
  m.graph.nodes.push_back(node("sub", "Sub", {"r1", "r2"}, {"rdiff"}));
  m.graph.nodes.push_back(node("relu1", "Relu", {"x"}, {"y1"}));  // both graph outputs: names must stay
  m.graph.nodes.push_back(node("relu2", "Relu", {"x"}, {"y2"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("y1", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("y2", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("rdiff", DataType::float32, {2, 3}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_EQ(op_counts(state->model().graph),
            (std::map<std::string, int>{{"Add", 1}, {"LeakyRelu", 2}, {"RandomUniformLike", 2}, {"Relu", 2}, {"Sub", 1}}));
}

TEST(CommonSubexpressionElimination, AGraphOutputDuplicateTakesTheOtherNodesPlace) {
  Model m = model_with_input();
  m.graph.nodes.push_back(node("relu1", "Relu", {"x"}, {"r"}));
  m.graph.nodes.push_back(node("neg", "Neg", {"r"}, {"n"}));
  m.graph.nodes.push_back(node("relu2", "Relu", {"x"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("n", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Neg", 1}, {"Relu", 1}}));
}

}  // namespace
}  // namespace tessera
