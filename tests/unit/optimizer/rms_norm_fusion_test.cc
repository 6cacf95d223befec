// rms_norm_fusion: the RMSNorm forms PyTorch exports (Pow or Mul squares; Div, Reciprocal or
// Div(1, .) inverses) become one RMSNormalization (com.tessera before opset 23, ONNX's from 23),
// checked on the rewritten graph and the numbers; near misses stay.
#include "optimizer/graph_edit.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

constexpr int64_t kCols = 8;

enum class Square { pow, mul };
enum class Inverse { div, reciprocal, one_over };

Tensor scalar_float(float v) {
  Tensor t = Tensor::create(DataType::float32, {}).value();
  t.data<float>()[0] = v;
  return t;
}

// y = x / sqrt(mean(x^2, -1) + eps) * gamma over x [2, 3, 8].
Model rms_model(int64_t opset, Square square, Inverse inverse, float two = 2.0f) {
  Model m;
  m.opset_imports[""] = opset;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3, kCols}));
  m.graph.initializers["two"] = scalar_float(two);
  m.graph.initializers["eps"] = scalar_float(1e-6f);
  m.graph.initializers["one"] = scalar_float(1.0f);
  m.graph.initializers["gamma"] = float_tensor({kCols}, 51);
  m.graph.initializers["axes"] = int64_vector({-1});
  m.graph.nodes.push_back(square == Square::pow ? node("sq", "Pow", {"x", "two"}, {"p"}) : node("sq", "Mul", {"x", "x"}, {"p"}));
  Node mean = node("mean", "ReduceMean", {"p"}, {"v"});
  if (opset >= 18) mean.inputs.push_back("axes");
  else mean.attributes["axes"] = ints_attr("axes", {-1});
  m.graph.nodes.push_back(mean);
  m.graph.nodes.push_back(node("add_eps", "Add", {"eps", "v"}, {"e"}));
  m.graph.nodes.push_back(node("sqrt", "Sqrt", {"e"}, {"s"}));
  if (inverse == Inverse::div) {
    m.graph.nodes.push_back(node("div", "Div", {"x", "s"}, {"n"}));
  } else {
    m.graph.nodes.push_back(inverse == Inverse::reciprocal ? node("inv", "Reciprocal", {"s"}, {"r"})
                                                           : node("inv", "Div", {"one", "s"}, {"r"}));
    m.graph.nodes.push_back(node("norm", "Mul", {"r", "x"}, {"n"}));
  }
  m.graph.nodes.push_back(node("scale", "Mul", {"gamma", "n"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  return m;
}

Feeds rms_feeds() { return {{"x", Value(float_tensor({2, 3, kCols}, 52))}}; }

TEST(RmsNormFusion, EachExportedFormBecomesOneNode) {
  for (Square square : {Square::pow, Square::mul})
    for (Inverse inverse : {Inverse::div, Inverse::reciprocal, Inverse::one_over}) {
      auto ops = expect_same_outputs(rms_model(17, square, inverse), OptimizationLevel::extended, rms_feeds());
      EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.RMSNormalization", 1}}))
          << static_cast<int>(square) << static_cast<int>(inverse);
    }
  auto state = session_at(rms_model(17, Square::pow, Inverse::div), OptimizationLevel::extended);
  ASSERT_TRUE(state);
  const Node& rms = state->model().graph.nodes[0];
  EXPECT_EQ(rms.inputs, (std::vector<std::string>{"x", "gamma"}));
  EXPECT_FLOAT_EQ(rms.attribute("epsilon")->f, 1e-6f);
  EXPECT_EQ(rms.attribute("axis")->i, -1);
}

TEST(RmsNormFusion, WritesTheOnnxOpFromOpset23) {
  auto ops = expect_same_outputs(rms_model(23, Square::mul, Inverse::reciprocal), OptimizationLevel::extended, rms_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"RMSNormalization", 1}}));
}

TEST(RmsNormFusion, LeavesOtherExponentsAndSharedIntermediates) {
  auto quartic = expect_same_outputs(rms_model(17, Square::pow, Inverse::div, 4.0f), OptimizationLevel::extended, rms_feeds());
  EXPECT_EQ(quartic.count("com.tessera.RMSNormalization"), 0u);
  EXPECT_EQ(quartic["ReduceMean"], 1);

  Model shared = rms_model(17, Square::pow, Inverse::div);
  shared.graph.outputs.push_back(tensor_value("s", DataType::float32, {2, 3, 1}));
  auto ops = expect_same_outputs(shared, OptimizationLevel::extended, rms_feeds());
  EXPECT_EQ(ops.count("com.tessera.RMSNormalization"), 0u);
  EXPECT_EQ(ops["Sqrt"], 1);
}

}  // namespace
}  // namespace tessera
