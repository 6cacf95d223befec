// The optimizer reads inferred types (known_type): inferred after load and again after every pass
// that rewrote something, and a pass that leaves contradicting types is reported by name.
#include "optimizer/graph_edit.h"
#include "optimizer/optimizer.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

// [N, 3, 8] with N symbolic.
ValueInfo batch_value(const std::string& name) {
  ValueInfo v = tensor_value(name, DataType::float32, {-1, 3, 8});
  v.type.shape->front() = Dim{-1, std::string(1, 'N')};
  return v;
}

TEST(InferredTypes, NoopReshapeOfAnUndeclaredValueGoes) {
  // r = Relu(x) is declared nowhere; only inference knows it is [2, 3, 8], so Reshape(r, [2, 3, 8]) is a no-op.
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3, 8}));
  m.graph.initializers["target"] = int64_vector({2, 3, 8});
  m.graph.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  m.graph.nodes.push_back(node("reshape", "Reshape", {"r", "target"}, {"rr"}));
  m.graph.nodes.push_back(node("neg", "Neg", {"rr"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, 8}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3, 8}, 1))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Neg", 1}, {"Relu", 1}}));
}

TEST(InferredTypes, GatherOfAShapeFoldsWhereThePickedDimIsFixed) {
  // y = Reshape(x, Concat([-1], Unsqueeze(Gather(Shape(x), -1)))): [N, 3, 8] -> [3N, 8]. The
  // last dim is fixed though N is not, so the whole target folds; Gather of dim 0 stays.
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(batch_value("x"));
  m.graph.initializers["last"] = Tensor::scalar<int64_t>(DataType::int64, -1);
  m.graph.initializers["first"] = Tensor::scalar<int64_t>(DataType::int64, 0);
  m.graph.initializers["axes0"] = int64_vector({0});
  m.graph.initializers["minus_one"] = int64_vector({-1});
  m.graph.nodes.push_back(node("shape", "Shape", {"x"}, {"s"}));
  m.graph.nodes.push_back(node("gather", "Gather", {"s", "last"}, {"g"}));
  m.graph.nodes.push_back(node("gather_batch", "Gather", {"s", "first"}, {"n"}));
  m.graph.nodes.push_back(node("unsq", "Unsqueeze", {"g", "axes0"}, {"u"}));
  Node concat = node("concat", "Concat", {"minus_one", "u"}, {"target"});
  concat.attributes["axis"] = int_attr("axis", 0);
  m.graph.nodes.push_back(concat);
  m.graph.nodes.push_back(node("reshape", "Reshape", {"x", "target"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {-1, 8}));
  m.graph.outputs.push_back(tensor_value("n", DataType::int64, {}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, {{"x", Value(float_tensor({2, 3, 8}, 1))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Gather", 1}, {"Reshape", 1}, {"Shape", 1}}));
  auto state = session_at(m, OptimizationLevel::basic);
  ASSERT_TRUE(state);
  const Tensor& target = state->model().graph.initializers.at("target");
  EXPECT_EQ(std::vector<int64_t>(target.data<int64_t>(), target.data<int64_t>() + target.size()), (std::vector<int64_t>{-1, 8}));
}

// Test passes: the first writes a value no declaration names, the second records what it knows of it.
class AddsANode final : public GraphTransformer {
 public:
  std::string_view name() const override { return "adds_a_node"; }
  Result<int> apply(Graph& graph, const TransformContext&) const override {
    for (const Node& n : graph.nodes)
      if (n.name == "added") return 0;
    graph.nodes.push_back(node("added", "Neg", {"x"}, {"fresh"}));
    return 1;
  }
};

class RecordsTheType final : public GraphTransformer {
 public:
  explicit RecordsTheType(std::optional<TypeInfo>* seen) : seen_(seen) {}
  std::string_view name() const override { return "records_the_type"; }
  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    *seen_ = known_type(graph, GraphIndex(graph, ctx), "fresh");
    return 0;
  }

 private:
  std::optional<TypeInfo>* seen_;
};

// Changes the Reshape target so the declared output no longer matches.
class BreaksTheTypes final : public GraphTransformer {
 public:
  std::string_view name() const override { return "breaks_the_types"; }
  Result<int> apply(Graph& graph, const TransformContext&) const override {
    if (graph.initializers.at("target").data<int64_t>()[0] == 4) return 0;
    graph.initializers["target"] = int64_vector({4, 12});
    return 1;
  }
};

Model reshape_model() {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(batch_value("x"));
  m.graph.initializers["target"] = int64_vector({-1, 24});
  m.graph.nodes.push_back(node("reshape", "Reshape", {"x", "target"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {-1, 24}));
  return m;
}

TEST(InferredTypes, TheNextPassSeesTheTypesOfValuesTheLastOneWrote) {
  Model m = reshape_model();
  std::optional<TypeInfo> seen;
  std::vector<std::unique_ptr<GraphTransformer>> passes;
  passes.push_back(std::make_unique<AddsANode>());
  passes.push_back(std::make_unique<RecordsTheType>(&seen));
  auto report = optimize_model(m, passes, {});
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ((*report)[0].rewrites, 1);
  ASSERT_TRUE(seen && seen->shape);
  EXPECT_EQ(seen->elem_type, DataType::float32);
  ASSERT_EQ(seen->shape->size(), 3u);
  EXPECT_EQ((*seen->shape)[0].param, "N");
  EXPECT_EQ((*seen->shape)[2].value, 8);
}

TEST(InferredTypes, APassThatLeavesContradictingTypesIsNamed) {
  Model m = reshape_model();
  m.graph.outputs[0] = tensor_value("y", DataType::float32, {-1, 24});
  std::vector<std::unique_ptr<GraphTransformer>> passes;
  passes.push_back(std::make_unique<BreaksTheTypes>());
  auto report = optimize_model(m, passes, {});
  ASSERT_FALSE(report.is_ok());
  EXPECT_NE(report.status().message().find("optimizer pass 'breaks_the_types' left a graph whose types contradict"), std::string::npos)
      << report.status().message();
}

}  // namespace
}  // namespace tessera
