#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

TEST(DeadCodeElimination, RemovesUnreadChainsAndInitializersButKeepsTheInterface) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  m.graph.inputs.push_back(tensor_value("fed_w", DataType::float32, {2, 3}));  // overridable: stays
  m.graph.initializers["fed_w"] = float_tensor({2, 3}, 1);
  m.graph.initializers["unused"] = float_tensor({2, 3}, 2);
  m.graph.initializers["c"] = float_tensor({2, 3}, 3);
  m.graph.nodes.push_back(node("dead1", "Mul", {"x", "c"}, {"d1"}));
  m.graph.nodes.push_back(node("dead2", "Neg", {"d1"}, {"d2"}));
  m.graph.nodes.push_back(node("live", "Add", {"x", "fed_w"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3}, 4))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->model().graph.initializers.size(), 1u);
  EXPECT_TRUE(state->model().graph.initializers.count("fed_w"));
  EXPECT_EQ(state->model().graph.inputs.size(), 2u);
}

TEST(DeadCodeElimination, KeepsValuesASubgraphReads) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2}));
  m.graph.inputs.push_back(tensor_value("cond", DataType::boolean, {}));
  m.graph.nodes.push_back(node("neg", "Neg", {"x"}, {"captured"}));  // read only inside the branches
  auto branch = [](const std::string& op) {
    auto g = std::make_shared<Graph>();
    g->name = op;
    g->nodes.push_back(node(op, op, {"captured"}, {op + "_out"}));
    ValueInfo out;
    out.name = op + "_out";
    g->outputs.push_back(out);
    return g;
  };
  Node if_node = node("if", "If", {"cond"}, {"y"});
  Attribute then_attr, else_attr;
  then_attr.name = "then_branch";
  then_attr.type = Attribute::Type::graph_;
  then_attr.g = branch("Abs");
  else_attr.name = "else_branch";
  else_attr.type = Attribute::Type::graph_;
  else_attr.g = branch("Relu");
  if_node.attributes["then_branch"] = then_attr;
  if_node.attributes["else_branch"] = else_attr;
  m.graph.nodes.push_back(if_node);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2}));
  Tensor cond = Tensor::create(DataType::boolean, {}).value();
  cond.data<uint8_t>()[0] = 1;
  auto ops = expect_same_outputs(m, OptimizationLevel::all, {{"x", Value(float_tensor({2}, 1))}, {"cond", Value(cond)}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"If", 1}, {"Neg", 1}}));
}

}  // namespace
}  // namespace tessera
