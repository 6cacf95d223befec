// Weights that every reader has packed lose their original bytes at session creation (the
// kernels own the packed copy); weights anything else can see keep them. Outputs stay right.
#include <gtest/gtest.h>

#include "framework/session.h"
#include "providers/cpu/cpu_provider.h"
#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

ValueInfo float_value(const std::string& name, Shape shape) {
  ValueInfo v;
  v.name = name;
  v.type.kind = TypeInfo::Kind::tensor;
  v.type.elem_type = DataType::float32;
  v.type.shape = std::vector<Dim>();
  for (int64_t d : shape) v.type.shape->push_back(Dim{d, ""});
  return v;
}

// y = x[2,3] @ w[3,2], w an initializer.
Model matmul_model() {
  Model m;
  m.source = "prepack_test";
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(float_value("x", {2, 3}));
  m.graph.outputs.push_back(float_value("y", {2, 2}));
  m.graph.initializers["w"] = tensor_of<float>(DataType::float32, {3, 2}, {1, 2, 3, 4, 5, 6});
  m.graph.nodes.push_back(node("mm", "MatMul", {"x", "w"}, {"y"}));
  return m;
}

std::unique_ptr<SessionState> make_state(Model m, const std::string& saved_path = "") {
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.intra_op_threads = 1;
  options.optimization_level = OptimizationLevel::disabled;
  options.optimized_model_path = saved_path;
  auto state = SessionState::create(std::move(m), std::move(eps), options);
  EXPECT_TRUE(state.is_ok()) << state.status().message();
  return state.is_ok() ? std::move(state).value() : nullptr;
}

std::vector<float> run_output(const SessionState& state, size_t k) {
  Feeds feeds{{"x", Value(tensor_of<float>(DataType::float32, {2, 3}, {1, 0, 1, 0, 1, 0}))}};
  auto out = state.run(feeds, {});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  if (!out.is_ok()) return {};
  const Tensor& t = (*out)[k].tensor();
  return {t.data<float>(), t.data<float>() + t.size()};
}

const Tensor& weight(const SessionState& state) { return state.model().graph.initializers.at("w"); }

TEST(PrepackedWeights, OriginalDroppedWhenTheOnlyReaderPackedIt) {
  auto state = make_state(matmul_model());
  ASSERT_TRUE(state);
  EXPECT_EQ(weight(*state).raw_data(), nullptr);
  EXPECT_EQ(weight(*state).shape(), (Shape{3, 2}));  // type and shape stay for the kernel's checks
  for (int i = 0; i < 2; ++i) EXPECT_EQ(run_output(*state, 0), (std::vector<float>{6, 8, 3, 4}));
}

TEST(PrepackedWeights, DroppedAfterEveryReaderPackedIt) {
  Model m = matmul_model();
  m.graph.nodes.push_back(node("mm2", "MatMul", {"x", "w"}, {"y2"}));
  m.graph.outputs.push_back(float_value("y2", {2, 2}));
  auto state = make_state(std::move(m));
  ASSERT_TRUE(state);
  EXPECT_EQ(weight(*state).raw_data(), nullptr);
  EXPECT_EQ(run_output(*state, 0), (std::vector<float>{6, 8, 3, 4}));
  EXPECT_EQ(run_output(*state, 1), (std::vector<float>{6, 8, 3, 4}));
}

TEST(PrepackedWeights, KeptWhenAnotherReaderNeedsTheBytes) {
  Model m = matmul_model();
  m.graph.nodes.push_back(node("neg", "Neg", {"w"}, {"neg_w"}));
  m.graph.outputs.push_back(float_value("neg_w", {3, 2}));
  auto state = make_state(std::move(m));
  ASSERT_TRUE(state);
  EXPECT_NE(weight(*state).raw_data(), nullptr);
  EXPECT_EQ(run_output(*state, 0), (std::vector<float>{6, 8, 3, 4}));
  EXPECT_EQ(run_output(*state, 1), (std::vector<float>{-1, -2, -3, -4, -5, -6}));
}

TEST(PrepackedWeights, KeptWhenAGraphOutputOrFeedableInput) {
  Model as_output = matmul_model();
  as_output.graph.outputs.push_back(float_value("w", {3, 2}));
  auto state = make_state(std::move(as_output));
  ASSERT_TRUE(state);
  EXPECT_NE(weight(*state).raw_data(), nullptr);
  EXPECT_EQ(run_output(*state, 1), (std::vector<float>{1, 2, 3, 4, 5, 6}));

  Model as_input = matmul_model();  // IR < 4 style: a feed may replace the initializer
  as_input.graph.inputs.push_back(float_value("w", {3, 2}));
  state = make_state(std::move(as_input));
  ASSERT_TRUE(state);
  EXPECT_NE(weight(*state).raw_data(), nullptr);
}

TEST(PrepackedWeights, KeptWhenTheModelIsSavedAfterCreation) {
  auto state = make_state(matmul_model(), "/nonexistent/saved.onnx");  // SessionState does not save; api/session.cc does
  ASSERT_TRUE(state);
  EXPECT_NE(weight(*state).raw_data(), nullptr);
}

}  // namespace
}  // namespace tessera
