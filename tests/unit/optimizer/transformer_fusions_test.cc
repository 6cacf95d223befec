// Transformer-block fusions of the extended level: LayerNormalization, GELU, SkipLayerNorm and
// MatMul + bias (+ activation), each checked on the rewritten graph and on the numbers, plus
// the patterns they must leave alone.
#include <cmath>

#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

constexpr int64_t kCols = 8;

Tensor scalar(float v) {
  Tensor t = Tensor::create(DataType::float32, {}).value();
  t.data<float>()[0] = v;
  return t;
}

// A Constant node holding a float scalar.
void add_constant(Model& m, const std::string& name, float v) {
  Node c = node(name + "_node", "Constant", {}, {name});
  c.attributes["value"] = tensor_attr("value", scalar(v));
  m.graph.nodes.push_back(c);
}

Node reduce_mean(const std::string& name, const std::string& in, const std::string& out, int64_t opset, int64_t axis = -1) {
  Node n = node(name, "ReduceMean", {in}, {out});
  if (opset >= 18) {
    n.inputs.push_back(name + "_axes");
  } else {
    n.attributes["axes"] = ints_attr("axes", {axis});
  }
  return n;
}

// The PyTorch export of LayerNorm(x) over the last axis, reading `x` and writing `out`.
void add_layer_norm_pattern(Model& m, const std::string& x, const std::string& out, int64_t opset, float eps = 1e-5f,
                            int64_t axis = -1, float exponent = 2.0f) {
  const int64_t opset_axes = opset;
  if (opset >= 18) {
    Tensor axes = Tensor::create(DataType::int64, {1}).value();
    axes.data<int64_t>()[0] = axis;
    m.graph.initializers["ln_mean_axes"] = axes;
    m.graph.initializers["ln_var_axes"] = axes;
  }
  add_constant(m, "ln_two", exponent);
  add_constant(m, "ln_eps", eps);
  m.graph.initializers["gamma"] = float_tensor({kCols}, 11);
  m.graph.initializers["beta"] = float_tensor({kCols}, 12);
  m.graph.nodes.push_back(reduce_mean("ln_mean", x, "ln_m", opset_axes, axis));
  m.graph.nodes.push_back(node("ln_sub", "Sub", {x, "ln_m"}, {"ln_d"}));
  m.graph.nodes.push_back(node("ln_pow", "Pow", {"ln_d", "ln_two"}, {"ln_p"}));
  m.graph.nodes.push_back(reduce_mean("ln_var", "ln_p", "ln_v", opset_axes, axis));
  m.graph.nodes.push_back(node("ln_add_eps", "Add", {"ln_v", "ln_eps"}, {"ln_e"}));
  m.graph.nodes.push_back(node("ln_sqrt", "Sqrt", {"ln_e"}, {"ln_s"}));
  m.graph.nodes.push_back(node("ln_div", "Div", {"ln_d", "ln_s"}, {"ln_n"}));
  m.graph.nodes.push_back(node("ln_mul", "Mul", {"ln_n", "gamma"}, {"ln_y"}));
  m.graph.nodes.push_back(node("ln_add", "Add", {"beta", "ln_y"}, {out}));
}

Model model_with_input(int64_t opset) {
  Model m;
  m.opset_imports[""] = opset;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 3, kCols}));
  return m;
}

Feeds x_feeds(float scale = 1.0f) {
  Tensor x = float_tensor({2, 3, kCols}, 3);
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] *= scale;
  return {{"x", Value(x)}};
}

// ---- LayerNormalization ----

TEST(LayerNormFusion, BecomesTesseraLayerNormBeforeOpset17) {
  Model m = model_with_input(13);
  add_layer_norm_pattern(m, "x", "y", 13, 1e-3f);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.LayerNormalization", 1}}));
}

TEST(LayerNormFusion, BecomesOnnxLayerNormFromOpset17WithAxesInputs) {
  Model m = model_with_input(18);
  add_layer_norm_pattern(m, "x", "y", 18);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"LayerNormalization", 1}}));
}

TEST(LayerNormFusion, LeavesOtherAxesExponentsAndFedEpsilonAlone) {
  for (int variant = 0; variant < 3; ++variant) {
    Model m = model_with_input(13);
    add_layer_norm_pattern(m, "x", "y", 13, 1e-5f, variant == 0 ? 1 : -1, variant == 1 ? 4.0f : 2.0f);
    if (variant == 2) {  // epsilon a graph input: a feed may change it
      std::erase_if(m.graph.nodes, [](const Node& n) { return n.name == "ln_eps_node"; });
      m.graph.inputs.push_back(tensor_value("ln_eps", DataType::float32, {}));
    }
    m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
    Feeds feeds = x_feeds();
    if (variant == 2) feeds.emplace_back("ln_eps", Value(scalar(1e-5f)));
    auto ops = expect_same_outputs(m, OptimizationLevel::all, feeds);
    EXPECT_EQ(ops.count("com.tessera.LayerNormalization"), 0u) << variant;
    EXPECT_EQ(ops["ReduceMean"], 2) << variant;
  }
}

TEST(LayerNormFusion, LeavesAPatternWhoseDeviationIsReadElsewhere) {
  Model m = model_with_input(13);
  add_layer_norm_pattern(m, "x", "y", 13);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  m.graph.outputs.push_back(tensor_value("ln_d", DataType::float32, {2, 3, kCols}));
  auto ops = expect_same_outputs(m, OptimizationLevel::all, x_feeds());
  EXPECT_EQ(ops.count("com.tessera.LayerNormalization"), 0u);
}

// ---- GELU ----

// x * 0.5 * (1 + erf(x / sqrt 2)) in one of the orders exporters write; `order` picks it.
void add_gelu_erf(Model& m, const std::string& x, const std::string& out, int order, float divisor = 1.4142135f) {
  add_constant(m, "g_sqrt2", order == 3 ? 1.0f / divisor : divisor);
  add_constant(m, "g_one", 1.0f);
  add_constant(m, "g_half", 0.5f);
  if (order == 3)
    m.graph.nodes.push_back(node("g_div", "Mul", {"g_sqrt2", x}, {"g_a"}));
  else
    m.graph.nodes.push_back(node("g_div", "Div", {x, "g_sqrt2"}, {"g_a"}));
  m.graph.nodes.push_back(node("g_erf", "Erf", {"g_a"}, {"g_b"}));
  m.graph.nodes.push_back(node("g_add", "Add", {"g_b", "g_one"}, {"g_c"}));
  switch (order) {
    case 0:  // (x * c) * 0.5 : PyTorch
    case 3:
      m.graph.nodes.push_back(node("g_mul", "Mul", {x, "g_c"}, {"g_d"}));
      m.graph.nodes.push_back(node("g_mul2", "Mul", {"g_d", "g_half"}, {out}));
      break;
    case 1:  // (x * 0.5) * c
      m.graph.nodes.push_back(node("g_half_x", "Mul", {"g_half", x}, {"g_h"}));
      m.graph.nodes.push_back(node("g_mul", "Mul", {"g_c", "g_h"}, {out}));
      break;
    default:  // x * (c * 0.5)
      m.graph.nodes.push_back(node("g_mul", "Mul", {"g_c", "g_half"}, {"g_d"}));
      m.graph.nodes.push_back(node("g_mul2", "Mul", {x, "g_d"}, {out}));
      break;
  }
}

TEST(GeluFusion, FusesTheErfFormInEachOrder) {
  for (int order = 0; order < 4; ++order) {
    Model m = model_with_input(13);
    add_gelu_erf(m, "x", "y", order);
    m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds(4.0f));
    EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.Gelu", 1}})) << order;
  }
}

TEST(GeluFusion, BecomesOnnxGeluFromOpset20) {
  Model m = model_with_input(20);
  add_gelu_erf(m, "x", "y", 0);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds(4.0f));
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Gelu", 1}}));
}

TEST(GeluFusion, FusesTheTanhForm) {
  Model m = model_with_input(13);
  add_constant(m, "t_three", 3.0f);
  add_constant(m, "t_coef", 0.044715f);
  add_constant(m, "t_scale", 0.7978845608f);
  add_constant(m, "t_one", 1.0f);
  add_constant(m, "t_half", 0.5f);
  m.graph.nodes.push_back(node("t_pow", "Pow", {"x", "t_three"}, {"t_p"}));
  m.graph.nodes.push_back(node("t_mul_coef", "Mul", {"t_p", "t_coef"}, {"t_q"}));
  m.graph.nodes.push_back(node("t_add", "Add", {"x", "t_q"}, {"t_u"}));
  m.graph.nodes.push_back(node("t_mul_scale", "Mul", {"t_scale", "t_u"}, {"t_v"}));
  m.graph.nodes.push_back(node("t_tanh", "Tanh", {"t_v"}, {"t_w"}));
  m.graph.nodes.push_back(node("t_add1", "Add", {"t_one", "t_w"}, {"t_c"}));
  m.graph.nodes.push_back(node("t_mul", "Mul", {"x", "t_c"}, {"t_d"}));
  m.graph.nodes.push_back(node("t_mul2", "Mul", {"t_half", "t_d"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds(4.0f));
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.Gelu", 1}}));
  auto state = session_at(m, OptimizationLevel::extended);
  ASSERT_TRUE(state);
  const Attribute* approx = state->model().graph.nodes[0].attribute("approximate");
  ASSERT_TRUE(approx);
  EXPECT_EQ(approx->s, "tanh");
}

TEST(GeluFusion, LeavesAWrongDivisorAlone) {
  Model m = model_with_input(13);
  add_gelu_erf(m, "x", "y", 0, 1.5f);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  auto ops = expect_same_outputs(m, OptimizationLevel::all, x_feeds(4.0f));
  EXPECT_EQ(ops.count("com.tessera.Gelu"), 0u);
  EXPECT_EQ(ops["Erf"], 1);
}

// ---- MatMul + bias (+ activation) ----

constexpr int64_t kN = 5;

void add_linear(Model& m, const std::string& x, const std::string& out, bool bias_first) {
  m.graph.initializers["W"] = float_tensor({kCols, kN}, 21);
  m.graph.initializers["bias"] = float_tensor({kN}, 22);
  m.graph.nodes.push_back(node("mm", "MatMul", {x, "W"}, {"mm_y"}));
  m.graph.nodes.push_back(node("mm_add", "Add", bias_first ? std::vector<std::string>{"bias", "mm_y"} : std::vector<std::string>{"mm_y", "bias"}, {out}));
}

TEST(MatMulBiasFusion, FusesRank3ActivationsWithTheBiasEitherSide) {
  for (bool bias_first : {false, true}) {
    Model m = model_with_input(13);
    add_linear(m, "x", "y", bias_first);
    m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kN}));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds());
    EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedMatMul", 1}}));
  }
}

TEST(MatMulBiasFusion, FusesRelu) {
  Model m = model_with_input(13);
  add_linear(m, "x", "z", false);
  m.graph.nodes.push_back(node("relu", "Relu", {"z"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kN}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedMatMul", 1}}));
}

TEST(MatMulBiasFusion, FusesTheGeluThatFollows) {
  Model m = model_with_input(13);
  add_linear(m, "x", "z", false);
  add_gelu_erf(m, "z", "y", 0);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kN}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds(3.0f));
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedMatMul", 1}}));
  auto state = session_at(m, OptimizationLevel::extended);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->model().graph.nodes[0].attribute("activation")->s, "Gelu");
}

TEST(MatMulBiasFusion, LeavesFedWeightsAndSharedProductsAlone) {
  Model fed = model_with_input(13);
  add_linear(fed, "x", "y", false);
  fed.graph.inputs.push_back(tensor_value("W", DataType::float32, {kCols, kN}));
  fed.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kN}));
  Feeds feeds = x_feeds();
  feeds.emplace_back("W", Value(float_tensor({kCols, kN}, 23)));
  EXPECT_EQ(expect_same_outputs(fed, OptimizationLevel::all, feeds), (std::map<std::string, int>{{"Add", 1}, {"MatMul", 1}}));

  Model shared = model_with_input(13);
  add_linear(shared, "x", "y", false);
  shared.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kN}));
  shared.graph.outputs.push_back(tensor_value("mm_y", DataType::float32, {2, 3, kN}));
  EXPECT_EQ(expect_same_outputs(shared, OptimizationLevel::all, x_feeds()), (std::map<std::string, int>{{"Add", 1}, {"MatMul", 1}}));
}

TEST(MatMulBiasFusion, FusesABiasRowOfLeadingOnesUpToTheProductsRank) {
  for (int64_t rank : {2, 3, 4}) {
    Model m = model_with_input(13);
    add_linear(m, "x", "y", false);
    std::vector<int64_t> shape(static_cast<size_t>(rank - 1), 1);
    shape.push_back(kN);
    m.graph.initializers["bias"] = float_tensor(shape, 22);
    m.graph.outputs.push_back(tensor_value("y", DataType::float32, rank == 4 ? std::vector<int64_t>{1, 2, 3, kN} : std::vector<int64_t>{2, 3, kN}));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, x_feeds());
    // [1, 1, 1, N] would add a dim to the [2, 3, N] product: that Add stays.
    const auto want = rank == 4 ? std::map<std::string, int>{{"Add", 1}, {"MatMul", 1}}
                                : std::map<std::string, int>{{"com.tessera.FusedMatMul", 1}};
    EXPECT_EQ(ops, want) << rank;
  }
}

// x2 [4, K] by a fed B [K, N] plus a fed c: Gemm when the inferred shapes prove c broadcasts to [4, N].
Model rank2_product(std::vector<int64_t> c_shape, int64_t n = kN) {
  Model m;
  m.opset_imports[""] = 13;
  m.graph.inputs.push_back(tensor_value("x2", DataType::float32, {4, kCols}));
  m.graph.inputs.push_back(tensor_value("B", DataType::float32, {kCols, n}));
  m.graph.inputs.push_back(tensor_value("c", DataType::float32, c_shape));
  m.graph.nodes.push_back(node("mm", "MatMul", {"x2", "B"}, {"mm_y"}));
  m.graph.nodes.push_back(node("mm_add", "Add", {"c", "mm_y"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {4, std::max(n, c_shape.back())}));
  return m;
}

Feeds rank2_feeds(std::vector<int64_t> c_shape, int64_t n = kN) {
  return {{"x2", Value(float_tensor({4, kCols}, 31))}, {"B", Value(float_tensor({kCols, n}, 32))}, {"c", Value(float_tensor(c_shape, 33))}};
}

TEST(MatMulBiasFusion, Rank2ProductPlusABroadcastingTermBecomesGemm) {
  for (std::vector<int64_t> c : {std::vector<int64_t>{4, kN}, {kN}, {4, 1}, {1, 1}}) {
    auto ops = expect_same_outputs(rank2_product(c), OptimizationLevel::extended, rank2_feeds(c));
    EXPECT_EQ(ops, (std::map<std::string, int>{{"Gemm", 1}})) << c.size() << " " << c[0];
  }
}

TEST(MatMulBiasFusion, LeavesAnAddThatBroadcastsTheProduct) {
  // [4, 1] + [4, N] widens the product: not Gemm's one-way broadcast of C.
  auto ops = expect_same_outputs(rank2_product({4, kN}, 1), OptimizationLevel::extended, rank2_feeds({4, kN}, 1));
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}, {"MatMul", 1}}));
}

// ---- SkipLayerNormalization ----

TEST(SkipLayerNormFusion, FusesTheResidualAddIntoTheLayerNorm) {
  for (bool broadcast : {false, true}) {
    Model m = model_with_input(13);
    m.graph.inputs.push_back(tensor_value("r", DataType::float32, broadcast ? std::vector<int64_t>{3, kCols} : std::vector<int64_t>{2, 3, kCols}));
    m.graph.nodes.push_back(node("residual", "Add", {"x", "r"}, {"s"}));
    add_layer_norm_pattern(m, "s", "y", 13);
    m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
    Feeds feeds = x_feeds();
    feeds.emplace_back("r", Value(float_tensor(broadcast ? std::vector<int64_t>{3, kCols} : std::vector<int64_t>{2, 3, kCols}, 9)));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, feeds);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.SkipLayerNormalization", 1}})) << broadcast;
  }
}

TEST(SkipLayerNormFusion, KeepsASumReadElsewhereAsASecondOutput) {
  Model m = model_with_input(17);
  m.graph.inputs.push_back(tensor_value("r", DataType::float32, {2, 3, kCols}));
  m.graph.nodes.push_back(node("residual", "Add", {"x", "r"}, {"s"}));
  add_layer_norm_pattern(m, "s", "y", 17);
  m.graph.nodes.push_back(node("next_residual", "Add", {"s", "y"}, {"z"}));  // pre-norm residual stream
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {2, 3, kCols}));
  m.graph.outputs.push_back(tensor_value("s", DataType::float32, {2, 3, kCols}));
  Feeds feeds = x_feeds();
  feeds.emplace_back("r", Value(float_tensor({2, 3, kCols}, 9)));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, feeds);
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}, {"com.tessera.SkipLayerNormalization", 1}}));
}

TEST(SkipLayerNormFusion, LeavesASumReadBeforeTheNormalization) {
  Model m = model_with_input(17);
  m.graph.inputs.push_back(tensor_value("r", DataType::float32, {2, 3, kCols}));
  m.graph.nodes.push_back(node("residual", "Add", {"x", "r"}, {"s"}));
  m.graph.nodes.push_back(node("early", "Relu", {"s"}, {"e"}));
  add_layer_norm_pattern(m, "s", "y", 17);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  m.graph.outputs.push_back(tensor_value("e", DataType::float32, {2, 3, kCols}));
  Feeds feeds = x_feeds();
  feeds.emplace_back("r", Value(float_tensor({2, 3, kCols}, 9)));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, feeds);
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}, {"LayerNormalization", 1}, {"Relu", 1}}));
}

// A BERT-like block: LayerNorm(x + GELU(x W1 + b1) W2 + b2) and everything fuses.
TEST(TransformerFusions, AFeedForwardBlockFusesEndToEnd) {
  Model m = model_with_input(13);
  m.graph.initializers["W1"] = float_tensor({kCols, 16}, 31);
  m.graph.initializers["b1"] = float_tensor({16}, 32);
  m.graph.initializers["W2"] = float_tensor({16, kCols}, 33);
  m.graph.initializers["b2"] = float_tensor({kCols}, 34);
  m.graph.nodes.push_back(node("mm1", "MatMul", {"x", "W1"}, {"h1"}));
  m.graph.nodes.push_back(node("add1", "Add", {"b1", "h1"}, {"h2"}));
  add_gelu_erf(m, "h2", "h3", 0);
  m.graph.nodes.push_back(node("mm2", "MatMul", {"h3", "W2"}, {"h4"}));
  m.graph.nodes.push_back(node("add2", "Add", {"b2", "h4"}, {"h5"}));
  m.graph.nodes.push_back(node("residual", "Add", {"h5", "x"}, {"s"}));
  add_layer_norm_pattern(m, "s", "y", 13);
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {2, 3, kCols}));
  auto ops = expect_same_outputs(m, OptimizationLevel::all, x_feeds(2.0f));
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedMatMul", 2}, {"com.tessera.SkipLayerNormalization", 1}}));
}

}  // namespace
}  // namespace tessera
