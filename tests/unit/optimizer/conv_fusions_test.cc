// BatchNormalization folded into Conv, and Conv + activation fused into com.tessera FusedConv.
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

// x[1,3,8,8] -> Conv(w[4,3,3,3], b, pads 1) -> y; the caller appends what reads y.
Model conv_model() {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {1, 3, 8, 8}));
  m.graph.initializers["w"] = float_tensor({4, 3, 3, 3}, 1);
  m.graph.initializers["b"] = float_tensor({4}, 2);
  Node conv = node("conv", "Conv", {"x", "w", "b"}, {"y"});
  conv.attributes["pads"] = ints_attr("pads", {1, 1, 1, 1});
  m.graph.nodes.push_back(conv);
  return m;
}

Feeds conv_feeds() { return {{"x", Value(float_tensor({1, 3, 8, 8}, 3))}}; }

TEST(BatchNormIntoConv, FoldsAndKeepsTheNumbers) {
  Model m = conv_model();
  for (auto [name, seed] : {std::pair{"gamma", 4}, {"beta", 5}, {"mean", 6}})
    m.graph.initializers[name] = float_tensor({4}, static_cast<uint32_t>(seed));
  Tensor var = float_tensor({4}, 7);
  for (int i = 0; i < 4; ++i) var.data<float>()[i] = 0.5f + std::abs(var.data<float>()[i]);
  m.graph.initializers["var"] = var;
  Node bn = node("bn", "BatchNormalization", {"y", "gamma", "beta", "mean", "var"}, {"z"});
  bn.attributes["epsilon"] = float_attr("epsilon", 1e-3f);
  m.graph.nodes.push_back(bn);
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));

  auto ops = expect_same_outputs(m, OptimizationLevel::extended, conv_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Conv", 1}}));
  // Nothing reads the original weights or the BN's statistics any more.
  auto state = session_at(m, OptimizationLevel::extended);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->model().graph.initializers.size(), 2u);
}

TEST(BatchNormIntoConv, LeavesABatchNormWhoseStatisticsAreFed) {
  Model m = conv_model();
  for (const char* name : {"gamma", "beta", "mean", "var"})
    m.graph.inputs.push_back(tensor_value(name, DataType::float32, {4}));
  m.graph.nodes.push_back(node("bn", "BatchNormalization", {"y", "gamma", "beta", "mean", "var"}, {"z"}));
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
  auto state = session_at(m, OptimizationLevel::extended);
  ASSERT_TRUE(state);
  EXPECT_EQ(op_counts(state->model().graph), (std::map<std::string, int>{{"BatchNormalization", 1}, {"Conv", 1}}));
}

TEST(ConvActivationFusion, FusesEachActivation) {
  struct Case {
    const char* op;
    std::vector<Attribute> attrs;
  };
  const std::vector<Case> cases = {{"Relu", {}},
                                   {"Sigmoid", {}},
                                   {"Tanh", {}},
                                   {"HardSwish", {}},
                                   {"LeakyRelu", {float_attr("alpha", 0.3f)}},
                                   {"HardSigmoid", {float_attr("alpha", 0.3f), float_attr("beta", 0.4f)}}};
  for (const Case& c : cases) {
    Model m = conv_model();
    Node act = node("act", c.op, {"y"}, {"z"});
    for (const Attribute& a : c.attrs) act.attributes[a.name] = a;
    m.graph.nodes.push_back(act);
    m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, conv_feeds());
    EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedConv", 1}})) << c.op;
  }
}

TEST(ConvActivationFusion, FusesClipWithConstantBoundsFromConstantNodes) {
  Model m = conv_model();
  Tensor lo = Tensor::create(DataType::float32, {}).value();
  lo.data<float>()[0] = 0.0f;
  Tensor hi = Tensor::create(DataType::float32, {}).value();
  hi.data<float>()[0] = 0.25f;
  Node c_lo = node("c_lo", "Constant", {}, {"lo"});
  c_lo.attributes["value"] = tensor_attr("value", lo);
  Node c_hi = node("c_hi", "Constant", {}, {"hi"});
  c_hi.attributes["value"] = tensor_attr("value", hi);
  m.graph.nodes.push_back(c_lo);
  m.graph.nodes.push_back(c_hi);
  m.graph.nodes.push_back(node("clip", "Clip", {"y", "lo", "hi"}, {"z"}));
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, conv_feeds());
  // The bounds' Constant nodes are dead once the Clip is gone.
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedConv", 1}}));
}

TEST(ConvActivationFusion, FusesSiluWrittenAsSigmoidTimesInputInEitherOrder) {
  for (bool sigmoid_first : {false, true}) {
    Model m = conv_model();
    m.graph.nodes.push_back(node("sigmoid", "Sigmoid", {"y"}, {"s"}));
    m.graph.nodes.push_back(node("mul", "Mul", sigmoid_first ? std::vector<std::string>{"s", "y"} : std::vector<std::string>{"y", "s"}, {"z"}));
    m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, conv_feeds());
    EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedConv", 1}})) << sigmoid_first;
  }
}

TEST(ConvActivationFusion, LeavesASigmoidWhoseOutputIsReadElsewhere) {
  Model m = conv_model();
  m.graph.nodes.push_back(node("sigmoid", "Sigmoid", {"y"}, {"s"}));
  m.graph.nodes.push_back(node("mul", "Mul", {"y", "s"}, {"z"}));
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
  m.graph.outputs.push_back(tensor_value("s", DataType::float32, {1, 4, 8, 8}));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, conv_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Conv", 1}, {"Mul", 1}, {"Sigmoid", 1}}));
}

TEST(ConvActivationFusion, LeavesAConvWhoseOutputIsAlsoAGraphOutput) {
  Model m = conv_model();
  m.graph.nodes.push_back(node("relu", "Relu", {"y"}, {"z"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {1, 4, 8, 8}));
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
  auto ops = expect_same_outputs(m, OptimizationLevel::all, conv_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Conv", 1}, {"Relu", 1}}));
}

TEST(ConvAddFusion, FusesAResidualAddAndTheReluAfterIt) {
  for (bool conv_first : {true, false}) {
    Model m = conv_model();
    m.graph.inputs.push_back(tensor_value("skip", DataType::float32, {1, 4, 8, 8}));
    m.graph.nodes.push_back(node("add", "Add", conv_first ? std::vector<std::string>{"y", "skip"} : std::vector<std::string>{"skip", "y"}, {"s"}));
    m.graph.nodes.push_back(node("relu", "Relu", {"s"}, {"z"}));
    m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
    Feeds feeds = conv_feeds();
    feeds.emplace_back("skip", Value(float_tensor({1, 4, 8, 8}, 9)));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, feeds);
    EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.FusedConv", 1}})) << conv_first;
  }
}

TEST(ConvAddFusion, MatchesTheSameSymbolicBatchButNotAnotherSymbol) {
  for (const char* skip_batch : {"N", "M"}) {
    Model m = conv_model();
    (*m.graph.inputs[0].type.shape)[0] = Dim{-1, "N"};
    m.graph.inputs.push_back(tensor_value("skip", DataType::float32, {1, 4, 8, 8}));
    (*m.graph.inputs.back().type.shape)[0] = Dim{-1, skip_batch};
    m.graph.nodes.push_back(node("add", "Add", {"y", "skip"}, {"z"}));
    m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
    (*m.graph.outputs.back().type.shape)[0] = Dim{-1, "N"};
    Feeds feeds = conv_feeds();
    feeds.emplace_back("skip", Value(float_tensor({1, 4, 8, 8}, 9)));
    auto ops = expect_same_outputs(m, OptimizationLevel::extended, feeds);
    const bool same = std::string(skip_batch) == "N";
    EXPECT_EQ(ops, same ? (std::map<std::string, int>{{"com.tessera.FusedConv", 1}})
                        : (std::map<std::string, int>{{"Add", 1}, {"Conv", 1}}))
        << skip_batch;
  }
}

TEST(ConvAddFusion, LeavesAnAddThatBroadcasts) {
  Model m = conv_model();
  m.graph.inputs.push_back(tensor_value("row", DataType::float32, {1, 1, 1, 8}));  // broadcast over y
  m.graph.nodes.push_back(node("add", "Add", {"y", "row"}, {"z"}));
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
  Feeds feeds = conv_feeds();
  feeds.emplace_back("row", Value(float_tensor({1, 1, 1, 8}, 10)));
  auto ops = expect_same_outputs(m, OptimizationLevel::extended, feeds);
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Add", 1}, {"Conv", 1}}));
}

TEST(ConvActivationFusion, NotAtBasicLevel) {
  Model m = conv_model();
  m.graph.nodes.push_back(node("relu", "Relu", {"y"}, {"z"}));
  m.graph.outputs.push_back(tensor_value("z", DataType::float32, {1, 4, 8, 8}));
  auto ops = expect_same_outputs(m, OptimizationLevel::basic, conv_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Conv", 1}, {"Relu", 1}}));
}

}  // namespace
}  // namespace tessera
