// The `all` level's blocked channel layout (optimizer/layout/blocked_layout.cc): which nodes
// change, where the conversions go, and that the numbers equal the unoptimized graph's, with
// channel counts that leave the last block part empty.
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

int64_t cpu_block() { return CpuExecutionProvider().blocked_channels(); }

#define SKIP_WITHOUT_BLOCKED_LAYOUT()                                                    \
  if (cpu_block() == 0) GTEST_SKIP() << "the CPU EP has no blocked layout here (no oneDNN, or a lower ISA forced)"

Node conv_node(const std::string& name, const std::string& x, const std::string& w, const std::string& b,
               const std::string& y, std::vector<int64_t> pads, int64_t group = 1) {
  Node n = node(name, "Conv", {x, w, b}, {y});
  n.attributes["pads"] = ints_attr("pads", std::move(pads));
  if (group != 1) n.attributes["group"] = int_attr("group", group);
  return n;
}

// x[1,3,10,10] -> stem 3x3 (20) -> Relu -> 1x1 (24) -> MaxPool 3x3/2 -> depthwise 3x3 -> GAP.
Model chain_model() {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {1, 3, 10, 10}));
  m.graph.initializers["w1"] = float_tensor({20, 3, 3, 3}, 1);
  m.graph.initializers["b1"] = float_tensor({20}, 2);
  m.graph.initializers["w2"] = float_tensor({24, 20, 1, 1}, 3);
  m.graph.initializers["b2"] = float_tensor({24}, 4);
  m.graph.initializers["w3"] = float_tensor({24, 1, 3, 3}, 5);
  m.graph.initializers["b3"] = float_tensor({24}, 6);
  m.graph.nodes.push_back(conv_node("stem", "x", "w1", "b1", "c1", {1, 1, 1, 1}));
  m.graph.nodes.push_back(node("relu", "Relu", {"c1"}, {"r1"}));
  m.graph.nodes.push_back(conv_node("pw", "r1", "w2", "b2", "c2", {0, 0, 0, 0}));
  Node pool = node("pool", "MaxPool", {"c2"}, {"p"});
  pool.attributes["kernel_shape"] = ints_attr("kernel_shape", {3, 3});
  pool.attributes["strides"] = ints_attr("strides", {2, 2});
  pool.attributes["pads"] = ints_attr("pads", {1, 1, 1, 1});
  m.graph.nodes.push_back(pool);
  m.graph.nodes.push_back(conv_node("dw", "p", "w3", "b3", "c3", {1, 1, 1, 1}, 24));
  m.graph.nodes.push_back(node("gap", "GlobalAveragePool", {"c3"}, {"g"}));
  m.graph.outputs.push_back(tensor_value("g", DataType::float32, {1, 24, 1, 1}));
  return m;
}

Feeds chain_feeds() { return {{"x", Value(float_tensor({1, 3, 10, 10}, 7))}}; }

TEST(BlockedLayout, RunsAConvChainBlockedWithOneConversionAtTheEnd) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  auto ops = expect_same_outputs(chain_model(), OptimizationLevel::all, chain_feeds());
  // The stem reads the RGB image as NCHW; only the pooled output is converted back.
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.BlockedConv", 3},
                                             {"com.tessera.BlockedPool", 2},
                                             {"com.tessera.ReorderFromBlocked", 1}}));
  auto state = session_at(chain_model(), OptimizationLevel::all);
  ASSERT_TRUE(state);
  for (const Node& n : state->model().graph.nodes) {
    if (n.op_type != "BlockedConv") continue;
    EXPECT_EQ(n.attribute("block")->i, cpu_block()) << n.name;
    EXPECT_EQ(n.attribute("nchw_input") != nullptr, n.name == "stem") << n.name;
  }
}

TEST(BlockedLayout, ExtendedLevelKeepsNchw) {
  auto ops = expect_same_outputs(chain_model(), OptimizationLevel::extended, chain_feeds());
  EXPECT_EQ(ops.count("com.tessera.BlockedConv"), 0u);
  EXPECT_EQ(ops.count("com.tessera.ReorderToBlocked"), 0u);
}

TEST(BlockedLayout, LeavesASingleConvolutionAlone) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {1, 16, 6, 6}));
  m.graph.initializers["w"] = float_tensor({16, 16, 3, 3}, 1);
  m.graph.initializers["b"] = float_tensor({16}, 2);
  m.graph.nodes.push_back(conv_node("conv", "x", "w", "b", "y", {1, 1, 1, 1}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {1, 16, 6, 6}));
  auto ops = expect_same_outputs(m, OptimizationLevel::all, {{"x", Value(float_tensor({1, 16, 6, 6}, 3))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Conv", 1}}));
}

// A residual block with squeeze-and-excitation: the residual Add becomes the blocked Z, the SE
// scale's Mul stays a Mul on blocked operands, the SE's own 1x1-on-1x1 convolutions stay NCHW,
// and a value also read outside the chain (a graph output) is converted back once.
TEST(BlockedLayout, ResidualAndSqueezeExcitationStayBlocked) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {2, 20, 7, 7}));
  m.graph.initializers["wa"] = float_tensor({20, 20, 3, 3}, 1);
  m.graph.initializers["ba"] = float_tensor({20}, 2);
  m.graph.initializers["wb"] = float_tensor({20, 20, 1, 1}, 3);
  m.graph.initializers["bb"] = float_tensor({20}, 4);
  m.graph.initializers["ws"] = float_tensor({20, 20, 1, 1}, 5);
  m.graph.initializers["bs"] = float_tensor({20}, 6);
  m.graph.nodes.push_back(conv_node("a", "x", "wa", "ba", "ya", {1, 1, 1, 1}));
  m.graph.nodes.push_back(conv_node("b", "ya", "wb", "bb", "yb", {0, 0, 0, 0}));
  m.graph.nodes.push_back(node("res", "Add", {"yb", "ya"}, {"r"}));
  m.graph.nodes.push_back(node("relu", "Relu", {"r"}, {"h"}));
  m.graph.nodes.push_back(node("gap", "GlobalAveragePool", {"h"}, {"g"}));
  m.graph.nodes.push_back(conv_node("se", "g", "ws", "bs", "sc", {0, 0, 0, 0}));
  m.graph.nodes.push_back(node("sig", "Sigmoid", {"sc"}, {"s"}));
  m.graph.nodes.push_back(node("scale", "Mul", {"h", "s"}, {"out"}));
  m.graph.nodes.push_back(node("side", "Sigmoid", {"ya"}, {"side_out"}));
  m.graph.outputs.push_back(tensor_value("out", DataType::float32, {2, 20, 7, 7}));
  m.graph.outputs.push_back(tensor_value("side_out", DataType::float32, {2, 20, 7, 7}));
  auto ops = expect_same_outputs(m, OptimizationLevel::all, {{"x", Value(float_tensor({2, 20, 7, 7}, 7))}});
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Mul", 1},
                                             {"Sigmoid", 1},
                                             {"com.tessera.BlockedConv", 2},
                                             {"com.tessera.BlockedPool", 1},
                                             {"com.tessera.FusedConv", 1},
                                             {"com.tessera.ReorderFromBlocked", 3},
                                             {"com.tessera.ReorderToBlocked", 2}}));
}

// BlockedConv where oneDNN cannot take it (weights fed at run time): the NCHW path between
// conversions gives what FusedConv gives.
TEST(BlockedLayout, BlockedConvWithoutOneDnnMatchesFusedConv) {
  for (int64_t block : {8, 16}) {
    Model m;
    m.opset_imports[""] = 17;
    m.opset_imports["com.tessera"] = 1;
    m.graph.inputs.push_back(tensor_value("x", DataType::float32, {1, 12, 5, 5}));
    m.graph.inputs.push_back(tensor_value("w", DataType::float32, {10, 12, 3, 3}));
    m.graph.initializers["b"] = float_tensor({10}, 2);
    Node to = node("to", "ReorderToBlocked", {"x"}, {"xb"});
    to.domain = "com.tessera";
    to.attributes["block"] = int_attr("block", block);
    Node conv = node("conv", "BlockedConv", {"xb", "w", "b"}, {"yb"});
    conv.domain = "com.tessera";
    conv.attributes["block"] = int_attr("block", block);
    conv.attributes["pads"] = ints_attr("pads", {1, 1, 1, 1});
    conv.attributes["activation"] = string_attr("activation", "Relu");
    Node from = node("from", "ReorderFromBlocked", {"yb"}, {"y"});
    from.domain = "com.tessera";
    from.attributes["channels"] = int_attr("channels", 10);
    m.graph.nodes = {to, conv, from};
    m.graph.outputs.push_back(tensor_value("y", DataType::float32, {1, 10, 5, 5}));

    Model ref = m;
    Node fused = node("conv", "FusedConv", {"x", "w", "b"}, {"y"});
    fused.domain = "com.tessera";
    fused.attributes["pads"] = ints_attr("pads", {1, 1, 1, 1});
    fused.attributes["activation"] = string_attr("activation", "Relu");
    ref.graph.nodes = {fused};

    const Feeds feeds = {{"x", Value(float_tensor({1, 12, 5, 5}, 3))}, {"w", Value(float_tensor({10, 12, 3, 3}, 4))}};
    auto got = session_at(m, OptimizationLevel::disabled);
    auto want = session_at(ref, OptimizationLevel::disabled);
    ASSERT_TRUE(got && want);
    auto a = got->run(feeds, {});
    auto b = want->run(feeds, {});
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    ASSERT_TRUE(b.is_ok()) << b.status().message();
    const Tensor& ta = (*a)[0].tensor();
    const Tensor& tb = (*b)[0].tensor();
    ASSERT_EQ(ta.shape(), tb.shape());
    for (int64_t i = 0; i < ta.size(); ++i) EXPECT_NEAR(ta.data<float>()[i], tb.data<float>()[i], 1e-5) << i;
  }
}

}  // namespace
}  // namespace tessera
