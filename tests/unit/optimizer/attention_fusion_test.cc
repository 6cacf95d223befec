// Self-attention as BERT exports it (heads split by Reshape/Transpose with targets computed from
// Shape/Gather/Unsqueeze/Concat, scale, additive mask, softmax, context, heads merged) fused
// into com.tessera Attention, and the patterns it must leave alone.
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

constexpr int64_t kB = 2, kS = 5, kH = 2, kD = 4;

Tensor i64(std::vector<int64_t> v) {
  Tensor t = Tensor::create(DataType::int64, {static_cast<int64_t>(v.size())}).value();
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}
Tensor i64_scalar(int64_t v) {
  Tensor t = Tensor::create(DataType::int64, {}).value();
  t.data<int64_t>()[0] = v;
  return t;
}
Tensor f32_scalar(float v) {
  Tensor t = Tensor::create(DataType::float32, {}).value();
  t.data<float>()[0] = v;
  return t;
}

void constant(Model& m, const std::string& name, Tensor t) {
  Node c = node(name + "_node", "Constant", {}, {name});
  c.attributes["value"] = tensor_attr("value", std::move(t));
  m.graph.nodes.push_back(c);
}

// Reshape(data, [B, S, H, D]) with the target computed from data's own shape (as exported).
void dynamic_split(Model& m, const std::string& data, const std::string& out) {
  for (int pos = 0; pos < 2; ++pos) {
    const std::string p = data + std::to_string(pos);
    m.graph.nodes.push_back(node(p + "_shape", "Shape", {data}, {p + "_s"}));
    constant(m, p + "_idx", i64_scalar(pos));
    m.graph.nodes.push_back(node(p + "_gather", "Gather", {p + "_s", p + "_idx"}, {p + "_g"}));
    constant(m, p + "_axes", i64({0}));
    m.graph.nodes.push_back(node(p + "_unsq", "Unsqueeze", {p + "_g", p + "_axes"}, {p + "_u"}));
  }
  constant(m, data + "_heads", i64({kH}));
  constant(m, data + "_hsize", i64({kD}));
  Node cat = node(data + "_concat", "Concat", {data + "0_u", data + "1_u", data + "_heads", data + "_hsize"}, {data + "_target"});
  cat.attributes["axis"] = int_attr("axis", 0);
  m.graph.nodes.push_back(cat);
  m.graph.nodes.push_back(node(data + "_reshape", "Reshape", {data, data + "_target"}, {out}));
}

void constant_split(Model& m, const std::string& data, const std::string& out) {
  m.graph.initializers[data + "_target"] = i64({0, 0, kH, kD});
  m.graph.nodes.push_back(node(data + "_reshape", "Reshape", {data, data + "_target"}, {out}));
}

Node transpose(const std::string& name, const std::string& in, const std::string& out, std::vector<int64_t> perm) {
  Node t = node(name, "Transpose", {in}, {out});
  t.attributes["perm"] = ints_attr("perm", std::move(perm));
  return t;
}

// The exported pattern; `softmax_axis`, `k_perm` and `with_mask` vary it.
Model attention_model(int64_t softmax_axis = -1, std::vector<int64_t> k_perm = {0, 2, 3, 1}, bool with_mask = true) {
  Model m;
  m.opset_imports[""] = 13;
  for (const char* name : {"q", "k", "v"}) m.graph.inputs.push_back(tensor_value(name, DataType::float32, {kB, kS, kH * kD}));
  if (with_mask) m.graph.inputs.push_back(tensor_value("mask", DataType::float32, {kB, 1, 1, kS}));
  dynamic_split(m, "q", "q4");
  m.graph.nodes.push_back(transpose("q_t", "q4", "qt", {0, 2, 1, 3}));
  dynamic_split(m, "k", "k4");
  m.graph.nodes.push_back(transpose("k_t", "k4", "kt", k_perm));
  constant_split(m, "v", "v4");
  m.graph.nodes.push_back(transpose("v_t", "v4", "vt", {0, 2, 1, 3}));
  m.graph.nodes.push_back(node("qk", "MatMul", {"qt", "kt"}, {"scores"}));
  constant(m, "sqrt_d", f32_scalar(2.0f));
  m.graph.nodes.push_back(node("scale", "Div", {"scores", "sqrt_d"}, {"scaled"}));
  std::string logits = "scaled";
  if (with_mask) {
    m.graph.nodes.push_back(node("mask_add", "Add", {"scaled", "mask"}, {"masked"}));
    logits = "masked";
  }
  Node sm = node("softmax", "Softmax", {logits}, {"probs"});
  sm.attributes["axis"] = int_attr("axis", softmax_axis);
  m.graph.nodes.push_back(sm);
  m.graph.nodes.push_back(node("ctx", "MatMul", {"probs", "vt"}, {"context"}));
  m.graph.nodes.push_back(transpose("ctx_t", "context", "merged4", {0, 2, 1, 3}));
  m.graph.initializers["merge_target"] = i64({0, 0, kH * kD});
  m.graph.nodes.push_back(node("merge", "Reshape", {"merged4", "merge_target"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {kB, kS, kH * kD}));
  return m;
}

Feeds attention_feeds(bool with_mask = true) {
  Feeds feeds = {{"q", Value(float_tensor({kB, kS, kH * kD}, 1))},
                 {"k", Value(float_tensor({kB, kS, kH * kD}, 2))},
                 {"v", Value(float_tensor({kB, kS, kH * kD}, 3))}};
  if (with_mask) {
    Tensor mask = Tensor::create(DataType::float32, {kB, 1, 1, kS}).value();
    for (int64_t i = 0; i < mask.size(); ++i) mask.data<float>()[i] = i % 3 == 2 ? -10000.0f : 0.0f;
    feeds.emplace_back("mask", Value(mask));
  }
  return feeds;
}

TEST(AttentionFusion, FusesTheBertPatternWithAMask) {
  auto ops = expect_same_outputs(attention_model(), OptimizationLevel::extended, attention_feeds());
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Reshape", 1}, {"com.tessera.Attention", 1}}));
  auto state = session_at(attention_model(), OptimizationLevel::extended);
  ASSERT_TRUE(state);
  for (const Node& n : state->model().graph.nodes) {
    if (n.op_type != "Attention") continue;
    EXPECT_EQ(n.attribute("num_heads")->i, kH);
    EXPECT_FLOAT_EQ(n.attribute("scale")->f, 0.5f);
    EXPECT_EQ(n.inputs.size(), 4u);
  }
}

TEST(AttentionFusion, FusesWithoutAMask) {
  auto ops = expect_same_outputs(attention_model(-1, {0, 2, 3, 1}, false), OptimizationLevel::extended, attention_feeds(false));
  EXPECT_EQ(ops, (std::map<std::string, int>{{"Reshape", 1}, {"com.tessera.Attention", 1}}));
}

TEST(AttentionFusion, LeavesOtherSoftmaxAxesAndKeyLayoutsAlone) {
  auto axis = expect_same_outputs(attention_model(1), OptimizationLevel::all, attention_feeds());
  EXPECT_EQ(axis.count("com.tessera.Attention"), 0u);
  EXPECT_EQ(axis["Softmax"], 1);
  // K transposed to [B, H, S, D] and multiplied as is is not Q K^T: with S != D the check refuses
  // the MatMul before the optimizer runs, naming it.
  Model m = attention_model(-1, {0, 2, 1, 3});
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  auto state = SessionState::create(std::move(m), std::move(eps), options);
  ASSERT_FALSE(state.is_ok());
  EXPECT_NE(state.status().message().find("node 'qk' (MatMul): inner dimensions differ"), std::string::npos)
      << state.status().message();
}

}  // namespace
}  // namespace tessera
