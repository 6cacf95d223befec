// No-op removal: nodes that hand their input on unchanged go, graph output names stay.
#include "optimizer/graph_edit.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

Feeds x_feeds() { return {{"x", Value(float_tensor({2, 3, 4}, 1))}}; }

Model model_with_input() {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3, 4}));
  return m;
}

TEST(NoopElimination, RemovesEachKindOfNoop) {
  Model m = model_with_input();
  m.graph.initializers["same_shape"] = int64_vector({2, 0, -1});
  m.graph.initializers["all"] = int64_vector({2, 3, 4});
  m.graph.initializers["zeros"] = int64_vector({0, 0, 0, 0, 0, 0});
  m.graph.initializers["starts"] = int64_vector({0});
  m.graph.initializers["ends"] = int64_vector({int64_t{1} << 62});
  Tensor no = Tensor::create(DataType::boolean, {}).value();
  m.graph.initializers["no"] = no;
  m.graph.nodes.push_back(node("id", "Identity", {"x"}, {"a"}));
  m.graph.nodes.push_back(node("drop", "Dropout", {"a", "", "no"}, {"b", "unread_mask"}));
  Node cast = node("cast", "Cast", {"x"}, {"c"});  // x is declared float
  cast.attributes["to"] = int_attr("to", static_cast<int64_t>(DataType::float32));
  m.graph.nodes.push_back(cast);
  m.graph.nodes.push_back(node("add", "Add", {"b", "c"}, {"d"}));
  m.graph.value_infos.push_back(tensor_value("d", DataType::float32, {2, 3, 4}));
  m.graph.nodes.push_back(node("reshape", "Reshape", {"d", "same_shape"}, {"e"}));
  Node transpose = node("transpose", "Transpose", {"e"}, {"f"});
  transpose.attributes["perm"] = ints_attr("perm", {0, 1, 2});
  m.graph.nodes.push_back(transpose);
  m.graph.nodes.push_back(node("expand", "Expand", {"x", "all"}, {"g"}));
  m.graph.nodes.push_back(node("pad", "Pad", {"g", "zeros"}, {"h"}));
  m.graph.nodes.push_back(node("slice", "Slice", {"h", "starts", "ends"}, {"i"}));
  m.graph.nodes.push_back(node("concat", "Concat", {"i"}, {"j"}));
  m.graph.nodes.back().attributes["axis"] = int_attr("axis", 0);
  m.graph.nodes.push_back(node("mul", "Mul", {"f", "j"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, 4}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}, {"Mul", 1}}));
}

TEST(NoopElimination, AGraphOutputKeepsItsNameByRenamingTheProducer) {
  Model m = model_with_input();
  m.graph.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  m.graph.nodes.push_back(node("neg", "Neg", {"r"}, {"other"}));  // another reader of r
  m.graph.nodes.push_back(node("id", "Identity", {"r"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("other", DataType::float32, {2, 3, 4}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Neg", 1}, {"Relu", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  const Graph& g = state->model().graph;
  EXPECT_EQ(g.outputs[0].name, "y");
  for (const Node& n : g.nodes)
    if (n.op_type == "Relu") {
      EXPECT_EQ(n.outputs[0], "y");
    }
}

TEST(NoopElimination, KeepsWhatCannotBeRenamedOrIsNotANoop) {
  Model m = model_with_input();
  m.graph.inputs.push_back(tensor_value("training", DataType::boolean, {}));
  m.graph.nodes.push_back(node("id_in_out", "Identity", {"x"}, {"y1"}));       // graph input to graph output
  m.graph.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  m.graph.nodes.push_back(node("id_out_out", "Identity", {"r"}, {"y2"}));      // r is a graph output too
  m.graph.nodes.push_back(node("drop_mask", "Dropout", {"x"}, {"d", "mask"}));  // its mask is read
  m.graph.nodes.push_back(node("drop_train", "Dropout", {"x", "", "training"}, {"t"}));
  Node cast = node("cast", "Cast", {"x"}, {"c"});
  cast.attributes["to"] = int_attr("to", static_cast<int64_t>(DataType::float64));
  m.graph.nodes.push_back(cast);
  m.graph.outputs.push_back(tensor_value("y1", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("y2", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("r", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("d", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("mask", DataType::boolean, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("t", DataType::float32, {2, 3, 4}));
  m.graph.outputs.push_back(tensor_value("c", DataType::float64, {2, 3, 4}));
  Tensor training = Tensor::create(DataType::boolean, {}).value();
  Feeds feeds = x_feeds();
  feeds.emplace_back("training", Value(training));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, feeds);
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Cast", 1}, {"Dropout", 2}, {"Identity", 2}, {"Relu", 1}}));
}

TEST(NoopElimination, OldDropoutNeedsIsTest) {
  for (int64_t is_test : {0, 1}) {
    Model m = model_with_input();
    m.opset_imports[""] = 6;
    Node drop = node("drop", "Dropout", {"x"}, {"d"});
    drop.attributes["is_test"] = int_attr("is_test", is_test);
    m.graph.nodes.push_back(drop);
    m.graph.nodes.push_back(node("relu", "Relu", {"d"}, {"y"}));
    m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, 4}));
    auto state = session_at(m, OptimizationLevel::basic);
    ASSERT_TRUE(state);
    EXPECT_EQ(op_counts(state->model().graph).count("Dropout"), is_test ? 0u : 1u);
  }
}

// Found by fuzz_session_run (UBSan: signed overflow multiplying the declared dims): a Reshape of
// a declared shape whose element count overflows int64 is not taken for a no-op, and creating
// the session does not overflow (the sanitized unit tests fail here without checked products).
TEST(NoopElimination, ReshapeOfAnOverflowingDeclaredShapeStays) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {int64_t{1} << 62, 8}));
  m.graph.initializers["dims"] = int64_vector({-1, 8});
  m.graph.nodes.push_back(node("reshape", "Reshape", {"x", "dims"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {}));
  m.graph.outputs.back().type.shape.reset();
  auto state = session_at(std::move(m), OptimizationLevel::basic);
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(op_counts(state->model().graph).count("Reshape"), 1u);
}

}  // namespace
}  // namespace tessera
