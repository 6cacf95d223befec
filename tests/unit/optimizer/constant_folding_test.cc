// Constant folding: constant subgraphs and the shape arithmetic of static shapes become
// initializers; random ops, oversized outputs and dynamic shapes stay.
#include "optimizer/graph_edit.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

Tensor ints(std::vector<int64_t> v) { return int64_vector(v); }

Node constant_node(const std::string& out, Tensor t) {
  Node c = node(out + "_const", "Constant", {}, {out});
  c.attributes["value"] = tensor_attr("value", std::move(t));
  return c;
}

TEST(ConstantFolding, FoldsTheShapeArithmeticOfAStaticShape) {
  // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): [2,3,4] -> [2,12]
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3, 4}));
  m.graph.initializers["zero"] = Tensor::scalar<int64_t>(DataType::int64, 0);
  m.graph.initializers["axes0"] = ints({0});
  m.graph.nodes.push_back(constant_node("minus_one", ints({-1})));
  m.graph.nodes.push_back(node("shape", "Shape", {"x"}, {"s"}));
  m.graph.nodes.push_back(node("gather", "Gather", {"s", "zero"}, {"g"}));
  m.graph.nodes.push_back(node("unsq", "Unsqueeze", {"g", "axes0"}, {"u"}));
  Node concat = node("concat", "Concat", {"u", "minus_one"}, {"target"});
  concat.attributes["axis"] = int_attr("axis", 0);
  m.graph.nodes.push_back(concat);
  m.graph.nodes.push_back(node("reshape", "Reshape", {"x", "target"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 12}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3, 4}, 1))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Reshape", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  const Tensor& target = state->model().graph.initializers.at("target");
  EXPECT_EQ(std::vector<int64_t>(target.data<int64_t>(), target.data<int64_t>() + target.size()), (std::vector<int64_t>{2, -1}));
}

TEST(ConstantFolding, FoldsThroughConstantNodesAndKeepsAFoldedGraphOutputAsAConstant) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  m.graph.initializers["a"] = float_tensor({2, 3}, 1);
  m.graph.nodes.push_back(constant_node("b", float_tensor({3}, 2)));
  m.graph.nodes.push_back(node("add", "Add", {"a", "b"}, {"sum"}));
  m.graph.nodes.push_back(node("exp", "Exp", {"sum"}, {"e"}));
  m.graph.nodes.push_back(node("mul", "Mul", {"x", "e"}, {"y"}));
  m.graph.nodes.push_back(node("neg", "Neg", {"e"}, {"folded_out"}));  // a graph output: stays a node
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("folded_out", DataType::float32, {2, 3}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3}, 3))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Constant", 1}, {"Mul", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->model().graph.outputs[1].name, "folded_out");
}

TEST(ConstantFolding, LeavesRandomOpsOversizedOutputsAndDynamicShapes) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  m.graph.inputs.push_back(tensor_value("d", DataType::float32, {-1, 3}));
  m.graph.initializers["a"] = float_tensor({2, 3}, 1);
  m.graph.initializers["big_shape"] = ints({4096, 4096});  // 16M elements: over the cap
  m.graph.initializers["small_shape"] = ints({2, 3});
  m.graph.nodes.push_back(node("rand", "RandomNormalLike", {"a"}, {"r"}));
  m.graph.nodes.push_back(node("big", "ConstantOfShape", {"big_shape"}, {"big_out"}));
  m.graph.nodes.push_back(node("small", "ConstantOfShape", {"small_shape"}, {"small_out"}));
  m.graph.nodes.push_back(node("shape_d", "Shape", {"d"}, {"dyn_shape"}));
  m.graph.outputs.push_back(tensor_value("r", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("big_out", DataType::float32, {4096, 4096}));
  m.graph.outputs.push_back(tensor_value("small_out", DataType::float32, {2, 3}));
  m.graph.outputs.push_back(tensor_value("dyn_shape", DataType::int64, {2}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_EQ(op_counts(state->model().graph),
            (std::map<std::string, int>{{"Constant", 1}, {"ConstantOfShape", 1}, {"RandomNormalLike", 1}, {"Shape", 1}}));
}

TEST(ConstantFolding, LeavesANodeWhoseEvaluationFails) {
  // A Gather of index 10 from 6 values: the shapes agree, so the check passes, and the error
  // belongs to the run, not to session creation.
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {1}));
  m.graph.initializers["a"] = float_tensor({6}, 1);
  m.graph.initializers["index"] = ints({10});
  m.graph.nodes.push_back(node("gather", "Gather", {"a", "index"}, {"r"}));
  m.graph.nodes.push_back(node("add", "Add", {"x", "r"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {1}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_EQ(op_counts(state->model().graph), (std::map<std::string, int>{{"Add", 1}, {"Gather", 1}}));
  auto run = state->run({{"x", Value(float_tensor({1}, 2))}}, {});
  ASSERT_FALSE(run.is_ok());
  EXPECT_NE(run.status().message().find("node 'gather' (Gather)"), std::string::npos) << run.status().message();
}

TEST(ConstantFolding, FoldsSizeAndShapeWithStartEnd) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3, 4}));
  Node shape = node("shape", "Shape", {"x"}, {"s"});
  shape.attributes["start"] = int_attr("start", 1);
  shape.attributes["end"] = int_attr("end", -1);
  m.graph.nodes.push_back(shape);
  m.graph.nodes.push_back(node("size", "Size", {"x"}, {"n"}));
  m.graph.nodes.push_back(node("cast", "Cast", {"n"}, {"nf"}));
  m.graph.nodes.back().attributes["to"] = int_attr("to", static_cast<int64_t>(DataType::float32));
  m.graph.nodes.push_back(node("mul", "Mul", {"x", "nf"}, {"y"}));
  m.graph.nodes.push_back(node("neg", "Neg", {"s"}, {"s_neg"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("s_neg", DataType::int64, {1}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3, 4}, 1))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Constant", 1}, {"Mul", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  auto out = state->run({{"x", Value(float_tensor({2, 3, 4}, 1))}}, {});
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ((*out)[1].tensor().data<int64_t>()[0], -3);
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(ConstantFolding, BeforeIrVersion4FoldsIntoConstantNodes) {
  // There an initializer must also be a graph input, which a caller could feed.
  Model m;
  m.ir_version = 3;
  m.opset_imports[""] = 8;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3}));
  m.graph.inputs.push_back(tensor_value("a", DataType::float32, {3, 2}));
  m.graph.initializers["a"] = float_tensor({3, 2}, 1);  // fed or not: not a constant
  m.graph.nodes.push_back(node("shape", "Shape", {"x"}, {"s"}));
  m.graph.nodes.push_back(node("reshape", "Reshape", {"a", "s"}, {"r"}));
  m.graph.nodes.push_back(node("mul", "Mul", {"x", "r"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3}, 2))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Constant", 1}, {"Mul", 1}, {"Reshape", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->model().graph.initializers.size(), 1u);
}

}  // namespace
}  // namespace tessera
