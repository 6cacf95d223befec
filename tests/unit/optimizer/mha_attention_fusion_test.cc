// mha_attention_fusion: nn.MultiheadAttention's sequence-first export (packed QKV projection,
// Slices, heads merged into the batch dim) becomes one com.tessera Attention {sequence_first},
// checked on the rewritten graph and on the numbers (batch 2, 2 heads).
#include "optimizer/graph_edit.h"
#include "tests/unit/optimizer/optimizer_test_util.h"

namespace tessera {
namespace {

constexpr int64_t kSeq = 5, kEmbed = 8, kHeadSize = 4;  // 2 heads

enum class Scale { on_q, on_scores, none };

Tensor scalar_float(float v) {
  Tensor t = Tensor::create(DataType::float32, {}).value();
  t.data<float>()[0] = v;
  return t;
}

// x [S, N, E] (N symbolic) -> packed projection -> attention -> y [S, N, E].
Model mha_model(Scale scale, bool softmax_escapes = false) {
  Model m;
  m.opset_imports[""] = 17;
  ValueInfo x = tensor_value("x", DataType::float32, {kSeq, -1, kEmbed});
  (*x.type.shape)[1] = Dim{-1, std::string(1, 'N')};
  m.graph.inputs.push_back(x);
  m.graph.initializers["w_qkv"] = float_tensor({kEmbed, 3 * kEmbed}, 41);
  m.graph.initializers["heads_shape"] = int64_vector({kSeq, -1, kHeadSize});
  m.graph.initializers["merged_shape"] = int64_vector({kSeq, -1, kEmbed});
  m.graph.initializers["axis_last"] = int64_vector({-1});
  m.graph.initializers["scale"] = scalar_float(scale == Scale::on_q ? 2.0f : 0.5f);
  for (int64_t i = 0; i <= 3; ++i) m.graph.initializers["at" + std::to_string(i)] = int64_vector({i * kEmbed});
  m.graph.nodes.push_back(node("proj", "MatMul", {"x", "w_qkv"}, {"qkv"}));
  const char* names[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    const std::string n = names[i];
    m.graph.nodes.push_back(node("slice_" + n, "Slice", {"qkv", "at" + std::to_string(i), "at" + std::to_string(i + 1), "axis_last"}, {n}));
    m.graph.nodes.push_back(node("reshape_" + n, "Reshape", {n, "heads_shape"}, {n + "_r"}));
    Node t = node("transpose_" + n, "Transpose", {n + "_r"}, {n + "_t"});
    t.attributes["perm"] = ints_attr("perm", n == "k" ? std::vector<int64_t>{1, 2, 0} : std::vector<int64_t>{1, 0, 2});
    m.graph.nodes.push_back(t);
  }
  std::string q = "q_t";
  if (scale == Scale::on_q) {
    m.graph.nodes.push_back(node("scale_q", "Div", {"q_t", "scale"}, {"q_s"}));
    q = "q_s";
  }
  m.graph.nodes.push_back(node("qk", "MatMul", {q, "k_t"}, {"scores"}));
  std::string scores = "scores";
  if (scale == Scale::on_scores) {
    m.graph.nodes.push_back(node("scale_scores", "Mul", {"scale", "scores"}, {"scores_s"}));
    scores = "scores_s";
  }
  Node sm = node("softmax", "Softmax", {scores}, {"probs"});
  sm.attributes["axis"] = int_attr("axis", -1);
  m.graph.nodes.push_back(sm);
  m.graph.nodes.push_back(node("context", "MatMul", {"probs", "v_t"}, {"o"}));
  Node back = node("transpose_o", "Transpose", {"o"}, {"o_t"});
  back.attributes["perm"] = ints_attr("perm", {1, 0, 2});
  m.graph.nodes.push_back(back);
  m.graph.nodes.push_back(node("merge", "Reshape", {"o_t", "merged_shape"}, {"y"}));
  m.graph.outputs.push_back(tensor_value("y", DataType::float32, {kSeq, -1, kEmbed}));
  if (softmax_escapes) m.graph.outputs.push_back(tensor_value("probs", DataType::float32, {-1, kSeq, kSeq}));
  return m;
}

Feeds mha_feeds() { return {{"x", Value(float_tensor({kSeq, 2, kEmbed}, 42))}}; }

TEST(MhaAttentionFusion, SequenceFirstAttentionBecomesOneNode) {
  for (Scale scale : {Scale::on_q, Scale::on_scores, Scale::none}) {
    auto ops = expect_same_outputs(mha_model(scale), OptimizationLevel::extended, mha_feeds());
    // packed_qkv_fusion then reads Q, K and V in place from the projection: the Slices go too.
    EXPECT_EQ(ops, (std::map<std::string, int>{{"MatMul", 1}, {"Reshape", 1}, {"com.tessera.Attention", 1}}))
        << static_cast<int>(scale);
    auto state = session_at(mha_model(scale), OptimizationLevel::extended);
    ASSERT_TRUE(state);
    for (const Node& n : state->model().graph.nodes) {
      if (n.op_type != "Attention") continue;
      EXPECT_EQ(n.inputs, (std::vector<std::string>{"qkv", "", ""}));
      EXPECT_EQ(n.attribute("num_heads")->i, kEmbed / kHeadSize);
      EXPECT_EQ(n.attribute("sequence_first")->i, 1);
      EXPECT_FLOAT_EQ(n.attribute("scale")->f, scale == Scale::none ? 1.0f : 0.5f);
    }
  }
}

TEST(MhaAttentionFusion, LeavesAttentionWhoseProbabilitiesAreReadElsewhere) {
  auto ops = expect_same_outputs(mha_model(Scale::on_q, true), OptimizationLevel::extended, mha_feeds());
  EXPECT_EQ(ops.count("com.tessera.Attention"), 0u);
  EXPECT_EQ(ops["Softmax"], 1);
}

}  // namespace
}  // namespace tessera
