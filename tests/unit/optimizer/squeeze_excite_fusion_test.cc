// Squeeze-and-excitation fused in the blocked layout (optimizer/layout/squeeze_excite_fusion.cc,
// kernel com.tessera BlockedSqueezeExcite in providers/cpu/nn/blocked_layout.cc): which graphs
// fuse, and that the numbers equal the unoptimized graph's, with channel counts that leave the
// last block part empty. ctest reruns these with TESSERA_ISA=avx2 (blocks of 8).
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

int64_t cpu_block() { return CpuExecutionProvider().blocked_channels(); }

#define SKIP_WITHOUT_BLOCKED_LAYOUT()                                                    \
  if (cpu_block() == 0) GTEST_SKIP() << "the CPU EP has no blocked layout here (no oneDNN, or a lower ISA forced)"

Node conv(const std::string& name, std::vector<std::string> inputs, const std::string& y, int64_t pad, int64_t group = 1) {
  Node n = node(name, "Conv", std::move(inputs), {y});
  n.attributes["pads"] = ints_attr("pads", {pad, pad, pad, pad});
  if (group != 1) n.attributes["group"] = int_attr("group", group);
  return n;
}

struct SeOptions {
  int64_t N = 2, C = 20, R = 6, HW = 7;
  std::string hidden_activation = "Silu";  // Silu (as y * Sigmoid(y)), Relu or none
  std::string gate = "Sigmoid";            // Sigmoid or HardSigmoid
  bool biases = true;
};

// x -> 3x3 conv -> Relu -> depthwise 3x3 -> h; SE: GAP(h) -> 1x1 (R) -> act -> 1x1 (C) -> gate;
// Mul(h, gate) -> 1x1 conv -> y. EfficientNet's MBConv block, small.
Model se_model(const SeOptions& o) {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(tensor_value("x", DataType::float32, {o.N, o.C, o.HW, o.HW}));
  auto init = [&](const std::string& name, std::vector<int64_t> shape, uint32_t seed) {
    m.graph.initializers[name] = float_tensor(std::move(shape), seed);
  };
  init("wa", {o.C, o.C, 3, 3}, 1);
  init("wd", {o.C, 1, 3, 3}, 2);
  init("w1", {o.R, o.C, 1, 1}, 3);
  init("w2", {o.C, o.R, 1, 1}, 4);
  init("wp", {o.C, o.C, 1, 1}, 5);
  init("b1", {o.R}, 6);
  init("b2", {o.C}, 7);
  auto with_bias = [&](std::vector<std::string> in, const std::string& b) {
    if (o.biases) in.push_back(b);
    return in;
  };
  m.graph.nodes.push_back(conv("a", {"x", "wa"}, "ya", 1));
  m.graph.nodes.push_back(node("relu", "Relu", {"ya"}, {"ra"}));
  m.graph.nodes.push_back(conv("dw", {"ra", "wd"}, "h", 1, o.C));
  m.graph.nodes.push_back(node("gap", "GlobalAveragePool", {"h"}, {"g"}));
  m.graph.nodes.push_back(conv("fc1", with_bias({"g", "w1"}, "b1"), "f1", 0));
  std::string hidden = "f1";
  if (o.hidden_activation == "Silu") {
    m.graph.nodes.push_back(node("silu_sig", "Sigmoid", {"f1"}, {"f1s"}));
    m.graph.nodes.push_back(node("silu_mul", "Mul", {"f1", "f1s"}, {"f1a"}));
    hidden = "f1a";
  } else if (o.hidden_activation == "Relu") {
    m.graph.nodes.push_back(node("fc1_relu", "Relu", {"f1"}, {"f1a"}));
    hidden = "f1a";
  }
  m.graph.nodes.push_back(conv("fc2", with_bias({hidden, "w2"}, "b2"), "f2", 0));
  m.graph.nodes.push_back(node("gate", o.gate, {"f2"}, {"s"}));
  m.graph.nodes.push_back(node("scale", "Mul", {"h", "s"}, {"se"}));
  m.graph.nodes.push_back(conv("project", {"se", "wp"}, "y", 0));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {o.N, o.C, o.HW, o.HW}));
  return m;
}

Feeds se_feeds(const SeOptions& o) { return {{"x", Value(float_tensor({o.N, o.C, o.HW, o.HW}, 8))}}; }

TEST(SqueezeExciteFusion, FusesSiluSeBlockWithPartialLastBlock) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  SeOptions o;  // 20 channels: the last block of 8 or 16 part empty; two images
  auto ops = expect_same_outputs(se_model(o), OptimizationLevel::all, se_feeds(o));
  EXPECT_EQ(ops, (std::map<std::string, int>{{"com.tessera.BlockedConv", 3},
                                             {"com.tessera.BlockedSqueezeExcite", 1},
                                             {"com.tessera.ReorderFromBlocked", 1},
                                             {"com.tessera.ReorderToBlocked", 1}}));
  // The kernel keeps its own copies of the SE weights: the originals' bytes are dropped (the
  // session expect_same_outputs ran dropped them too, so the numbers above hold without them).
  auto state = session_at(se_model(o), OptimizationLevel::all);
  ASSERT_TRUE(state);
  for (const char* w : {"w1", "b1", "w2", "b2"}) EXPECT_EQ(state->model().graph.initializers.at(w).raw_data(), nullptr) << w;
}

TEST(SqueezeExciteFusion, FusesReluSeWithoutBiasesOnWholeBlocks) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  SeOptions o;
  o.N = 1;
  o.C = 32;
  o.R = 8;
  o.HW = 5;
  o.hidden_activation = "Relu";
  o.biases = false;
  // With 32 channels the first 3x3 runs on the Winograd kernel (F(4x4, 3x3)) at level all, which
  // rounds more than the direct sum: its outputs, about 3 in size, differ by up to 6e-5.
  auto ops = expect_same_outputs(se_model(o), OptimizationLevel::all, se_feeds(o), 1e-4);
  EXPECT_EQ(ops.count("com.tessera.BlockedSqueezeExcite"), 1u);
  EXPECT_EQ(ops.count("Mul"), 0u);
}

TEST(SqueezeExciteFusion, FusesSeWithoutHiddenActivation) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  SeOptions o;
  o.hidden_activation = "none";
  auto ops = expect_same_outputs(se_model(o), OptimizationLevel::all, se_feeds(o));
  EXPECT_EQ(ops.count("com.tessera.BlockedSqueezeExcite"), 1u);
}

TEST(SqueezeExciteFusion, LeavesOtherGatesAlone) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  SeOptions o;
  o.gate = "HardSigmoid";  // MobileNetV3's gate: the kernel computes Sigmoid only
  auto ops = expect_same_outputs(se_model(o), OptimizationLevel::all, se_feeds(o));
  EXPECT_EQ(ops.count("com.tessera.BlockedSqueezeExcite"), 0u);
  EXPECT_EQ(ops.count("Mul"), 1u);
}

TEST(SqueezeExciteFusion, LeavesSeWhoseHiddenValueIsAnOutput) {
  SKIP_WITHOUT_BLOCKED_LAYOUT();
  SeOptions o;
  o.hidden_activation = "Relu";
  Model m = se_model(o);
  m.graph.outputs.push_back(tensor_value("f1a", DataType::float32, {o.N, o.R, 1, 1}));
  auto ops = expect_same_outputs(m, OptimizationLevel::all, se_feeds(o));
  EXPECT_EQ(ops.count("com.tessera.BlockedSqueezeExcite"), 0u);
}

Tensor run_one(const Model& m, const Feeds& feeds) {
  auto state = session_at(m, OptimizationLevel::disabled);
  if (!state) return {};
  auto out = state->run(feeds, {});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? (*out)[0].tensor() : Tensor{};
}

// The kernel by itself in blocks of 8 (AVX2) and 16 (AVX-512), whatever the CPU's own block:
// ReorderToBlocked -> BlockedSqueezeExcite {Relu} -> ReorderFromBlocked against the same SE in
// standard ops, 20 channels (last block part empty), 5 hidden, 3 images.
TEST(SqueezeExciteFusion, KernelMatchesStandardOpsInBothBlocks) {
  const int64_t N = 3, C = 20, R = 5, H = 4, W = 6;
  Model ref;
  ref.opset_imports[""] = 17;
  ref.graph.inputs.push_back(tensor_value("x", DataType::float32, {N, C, H, W}));
  ref.graph.initializers["w1"] = float_tensor({R, C, 1, 1}, 1);
  ref.graph.initializers["b1"] = float_tensor({R}, 2);
  ref.graph.initializers["w2"] = float_tensor({C, R, 1, 1}, 3);
  ref.graph.initializers["b2"] = float_tensor({C}, 4);
  ref.graph.outputs.push_back(tensor_value("y", DataType::float32, {N, C, H, W}));
  Model fused = ref;
  ref.graph.nodes.push_back(node("gap", "GlobalAveragePool", {"x"}, {"g"}));
  ref.graph.nodes.push_back(conv("fc1", {"g", "w1", "b1"}, "f1", 0));
  ref.graph.nodes.push_back(node("relu", "Relu", {"f1"}, {"h"}));
  ref.graph.nodes.push_back(conv("fc2", {"h", "w2", "b2"}, "f2", 0));
  ref.graph.nodes.push_back(node("gate", "Sigmoid", {"f2"}, {"s"}));
  ref.graph.nodes.push_back(node("scale", "Mul", {"x", "s"}, {"y"}));
  const Feeds feeds{{"x", Value(float_tensor({N, C, H, W}, 5))}};
  const Tensor want = run_one(ref, feeds);
  ASSERT_EQ(want.size(), N * C * H * W);
  for (int64_t block : {8, 16}) {
    SCOPED_TRACE(testing::Message() << "block " << block);
    Model m = fused;
    m.opset_imports["com.tessera"] = 1;
    Node to = node("to", "ReorderToBlocked", {"x"}, {"xb"});
    to.domain = "com.tessera";
    to.attributes["block"] = int_attr("block", block);
    Node se = node("se", "BlockedSqueezeExcite", {"xb", "w1", "b1", "w2", "b2"}, {"yb"});
    se.domain = "com.tessera";
    se.attributes["activation"] = string_attr("activation", "Relu");
    Node from = node("from", "ReorderFromBlocked", {"yb"}, {"y"});
    from.domain = "com.tessera";
    from.attributes["channels"] = int_attr("channels", C);
    m.graph.nodes = {to, se, from};
    const Tensor got = run_one(m, feeds);
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5 + 1e-5 * std::abs(want.data<float>()[i])) << i;
  }
}

// The kernel refuses weights that do not map the channels back: an error naming the node.
TEST(SqueezeExciteFusion, KernelRefusesMismatchedWeights) {
  Model m;
  m.opset_imports[""] = 17;
  m.opset_imports["com.tessera"] = 1;
  m.graph.inputs.push_back(tensor_value("xb", DataType::float32, {1, 2, 3, 3, 16}));
  m.graph.initializers["w1"] = float_tensor({4, 20, 1, 1}, 1);
  m.graph.initializers["w2"] = float_tensor({24, 4, 1, 1}, 2);
  Node se = node("se_node", "BlockedSqueezeExcite", {"xb", "w1", "", "w2"}, {"yb"});
  se.domain = "com.tessera";
  m.graph.nodes.push_back(se);
  m.graph.outputs.push_back(tensor_value("yb", DataType::float32, {1, 2, 3, 3, 16}));
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  auto state = SessionState::create(std::move(m), std::move(eps), SessionOptions{});
  ASSERT_FALSE(state.is_ok());
  EXPECT_NE(state.status().message().find("se_node"), std::string::npos) << state.status().message();
  EXPECT_NE(state.status().message().find("W2"), std::string::npos) << state.status().message();
}

}  // namespace
}  // namespace tessera
