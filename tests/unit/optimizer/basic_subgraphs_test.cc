// The basic level inside subgraphs and around values that subgraphs capture.
#include "optimizer/graph_edit.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

// A branch computing Mul(a, Neg(constant k)) on the captured `a`, with `k` a Constant node.
std::shared_ptr<Graph> branch(const std::string& name, uint32_t seed) {
  auto g = std::make_shared<Graph>();
  g->name = name;
  Node k = node(name + "_k", "Constant", {}, {name + "_k"});
  k.attributes["value"] = tensor_attr("value", float_tensor({3}, seed));
  g->nodes.push_back(k);
  g->nodes.push_back(node(name + "_neg", "Neg", {name + "_k"}, {name + "_nk"}));
  g->nodes.push_back(node(name + "_id", "Identity", {name + "_nk"}, {name + "_nk2"}));
  g->nodes.push_back(node(name + "_mul", "Mul", {"a", name + "_nk2"}, {name + "_out"}));
  ValueInfo out;
  out.name = name + "_out";
  g->outputs.push_back(out);
  return g;
}

TEST(BasicSubgraphs, FoldsInsideBranchesAndKeepsTheCapturedName) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  m.graph.inputs.push_back(tensor_value("cond", DataType::boolean, {}));
  m.graph.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  // `a` is read by the branches: the Identity goes by renaming Relu's output to `a`.
  m.graph.nodes.push_back(node("id", "Identity", {"r"}, {"a"}));
  m.graph.nodes.push_back(node("neg", "Neg", {"a"}, {"n"}));
  Node if_node = node("if", "If", {"cond"}, {"y"});
  Attribute then_attr, else_attr;
  then_attr.name = "then_branch";
  then_attr.type = Attribute::Type::graph_;
  then_attr.g = branch("then", 1);
  else_attr.name = "else_branch";
  else_attr.type = Attribute::Type::graph_;
  else_attr.g = branch("else", 2);
  if_node.attributes["then_branch"] = then_attr;
  if_node.attributes["else_branch"] = else_attr;
  m.graph.nodes.push_back(if_node);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("n", DataType::float32, {2, 3}));
  for (uint8_t c : {0, 1}) {
    Tensor cond = Tensor::create(DataType::boolean, {}).value();
    cond.data<uint8_t>()[0] = c;
    auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3}, 3))}, {"cond", Value(cond)}});
    EXPECT_EQ(ops, (std::map<std::string, int>{{"If", 1}, {"Neg", 1}, {"Relu", 1}}));
  }
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  for (const Node& n : state->model().graph.nodes) {
    if (n.op_type == "Relu") {
      EXPECT_EQ(n.outputs[0], "a");
    }
    if (n.op_type != "If") continue;
    for (const char* b : {"then_branch", "else_branch"}) {
      const Graph& g = *n.attribute(b)->g;
      EXPECT_EQ(op_counts(g), (std::map<std::string, int>{{"Mul", 1}})) << b;
      EXPECT_EQ(g.initializers.size(), 1u) << b;
    }
  }
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(BasicSubgraphs, KnownTypeTrustsASubgraphsDeclaredInputsForTheirElementTypeOnly) {
  // A Loop body's carried value may change shape from one iteration to the next.
  Graph g;
  g.inputs.push_back(tensor_value("carried", DataType::float32, {2, 3}));
  g.value_infos.push_back(tensor_value("inner", DataType::float32, {4}));
  g.initializers["w"] = float_tensor({5}, 1);
  const GraphIndex main_index(g), body_index(g, true);
  EXPECT_EQ(known_static_shape(g, main_index, "carried"), (Shape{2, 3}));
  EXPECT_FALSE(known_static_shape(g, body_index, "carried"));
  EXPECT_EQ(known_elem_type(g, body_index, "carried"), DataType::float32);
  EXPECT_EQ(known_static_shape(g, body_index, "inner"), (Shape{4}));
  EXPECT_EQ(known_static_shape(g, body_index, "w"), (Shape{5}));
  EXPECT_FALSE(known_type(g, body_index, "unknown"));
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(BasicSubgraphs, AFoldedValueTheBranchesCaptureBecomesAnOuterInitializer) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  m.graph.inputs.push_back(tensor_value("cond", DataType::boolean, {}));
  m.graph.initializers["c"] = float_tensor({3}, 5);
  m.graph.nodes.push_back(node("neg_c", "Neg", {"c"}, {"captured"}));  // folded; read only inside the branches
  auto make_branch = [](const std::string& name, const std::string& op) {
    auto g = std::make_shared<Graph>();
    g->name = name;
    g->nodes.push_back(node(name + "_op", op, {"x", "captured"}, {name + "_out"}));
    ValueInfo out;
    out.name = name + "_out";
    g->outputs.push_back(out);
    return g;
  };
  Node if_node = node("if", "If", {"cond"}, {"y"});
  Attribute then_attr, else_attr;
  then_attr.name = "then_branch";
  then_attr.type = Attribute::Type::graph_;
  then_attr.g = make_branch("then", "Add");
  else_attr.name = "else_branch";
  else_attr.type = Attribute::Type::graph_;
  else_attr.g = make_branch("else", "Mul");
  if_node.attributes["then_branch"] = then_attr;
  if_node.attributes["else_branch"] = else_attr;
  m.graph.nodes.push_back(if_node);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  for (uint8_t c : {0, 1}) {
    Tensor cond = Tensor::create(DataType::boolean, {}).value();
    cond.data<uint8_t>()[0] = c;
    auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3}, 3))}, {"cond", Value(cond)}});
    EXPECT_EQ(ops, (std::map<std::string, int>{{"If", 1}}));
  }
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->model().graph.initializers.count("captured"));
}

}  // namespace
}  // namespace tessera
