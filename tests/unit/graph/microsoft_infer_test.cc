// Shape inference of ONNX Runtime's contrib ops (src/graph/infer/microsoft.cc): the shapes the
// kernels produce, so types stay known through models saved by ONNX Runtime's optimizer.
#include <gtest/gtest.h>

#include "graph/shape_inference.h"
#include "tests/unit/graph/graph_builders.h"

namespace tessera {
namespace {

Node ms_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  Node n = node(op, op, std::move(in), std::move(out));
  n.domain = "com.microsoft";
  return n;
}

std::string type_of(const ValueTypes& types, const std::string& name) {
  auto it = types.find(name);
  return it == types.end() ? "missing" : it->second.to_string();
}

Result<ValueTypes> infer(Graph g, Model& m) {
  m.opset_imports[""] = 17;
  m.opset_imports["com.microsoft"] = 1;
  m.source = "test.onnx";
  m.graph = std::move(g);
  return infer_types(m.graph, m, {});
}

TEST(MicrosoftInference, FusedMatMulTransposes) {
  Graph g;
  g.inputs = {tensor_value("a", DataType::float32, {4, 2, 3, 5}), tensor_value("b", DataType::float32, {2, 3, 6, 5}),
              tensor_value("c", DataType::float32, {7, 5})};
  Node batch = ms_node("FusedMatMul", {"a", "b"}, {"y"});  // A read as [2, 3, 4, 5], B^T as [2, 3, 5, 6]
  batch.attributes["transBatchA"] = int_attr("transBatchA", 1);
  batch.attributes["transB"] = int_attr("transB", 1);
  Node gemm = ms_node("FusedGemm", {"c", "c"}, {"z"});
  gemm.attributes["transB"] = int_attr("transB", 1);
  g.nodes = {batch, gemm};
  Model m;
  auto types = infer(std::move(g), m);
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "y"), "tensor(float)[2,3,4,6]");
  EXPECT_EQ(type_of(*types, "z"), "tensor(float)[7,7]");
}

TEST(MicrosoftInference, FusedMatMulInnerDimsMustAgree) {
  Graph g;
  g.inputs = {tensor_value("a", DataType::float32, {3, 4}), tensor_value("b", DataType::float32, {3, 4})};
  g.nodes = {ms_node("FusedMatMul", {"a", "b"}, {"y"})};
  Model m;
  auto types = infer(std::move(g), m);
  ASSERT_FALSE(types.is_ok());
  EXPECT_NE(types.status().message().find("inner dimensions differ"), std::string::npos) << types.status().message();
}

TEST(MicrosoftInference, SkipLayerNormOutputsAndAttention) {
  Graph g;
  g.inputs = {tensor_value("x", DataType::float32, {2, 5, 16}), tensor_value("gamma", DataType::float32, {16}),
              tensor_value("w", DataType::float32, {16, 40}), tensor_value("past", DataType::float32, {2, 2, 2, 3, 8}),
              tensor_value("q", DataType::float16, {2, 5, 64})};
  Node attention = ms_node("Attention", {"x", "w", "", "", "past"}, {"att", "present"});
  attention.attributes["num_heads"] = int_attr("num_heads", 2);
  attention.attributes["qkv_hidden_sizes"] = ints_attr("qkv_hidden_sizes", {16, 16, 8});
  Node gqa = ms_node("GroupQueryAttention", {"q", "", "", "", "", "lens", "total"}, {"gy", "pk", "pv"});
  gqa.attributes["num_heads"] = int_attr("num_heads", 4);
  gqa.attributes["kv_num_heads"] = int_attr("kv_num_heads", 2);  // packed: 64 = (4 + 2 * 2) * 8
  g.inputs.push_back(tensor_value("lens", DataType::int32, {2}));
  g.inputs.push_back(tensor_value("total", DataType::int32, {}));
  g.nodes = {ms_node("SkipLayerNormalization", {"x", "x", "gamma"}, {"y", "mean", "inv", "sum"}), attention, gqa};
  Model m;
  auto types = infer(std::move(g), m);
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "y"), "tensor(float)[2,5,16]");
  EXPECT_EQ(type_of(*types, "mean"), "tensor(float)[2,5,1]");
  EXPECT_EQ(type_of(*types, "inv"), "tensor(float)[2,5,1]");
  EXPECT_EQ(type_of(*types, "sum"), "tensor(float)[2,5,16]");
  EXPECT_EQ(type_of(*types, "att"), "tensor(float)[2,5,8]");
  EXPECT_EQ(type_of(*types, "present"), "tensor(float)[2,2,2,8,8]");
  EXPECT_EQ(type_of(*types, "gy"), "tensor(float16)[2,5,32]");
  EXPECT_EQ(type_of(*types, "pk"), "tensor(float16)[2,2,?,8]");
}

}  // namespace
}  // namespace tessera
