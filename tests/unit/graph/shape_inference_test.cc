// Shape and type inference on small graphs: exact shapes, symbolic dims, shape values carried
// from Shape to Reshape, subgraphs, declared types merged, and contradictions reported.
#include "graph/shape_inference.h"

#include <gtest/gtest.h>

#include "graph/infer/infer_context.h"
#include "tests/unit/graph/graph_builders.h"

namespace tessera {
namespace {

Dim d(int64_t v) { return Dim{v, {}}; }
Dim sym(const std::string& name) { return Dim{-1, name}; }

ValueInfo input(const std::string& name, DataType dtype, std::optional<Dims> shape) {
  return ValueInfo{name, tensor_type(dtype, std::move(shape))};
}

Model model_with(Graph graph, int64_t opset = 17) {
  Model m;
  m.opset_imports[""] = opset;
  m.source = "test.onnx";
  m.graph = std::move(graph);
  return m;
}

Tensor ints(std::vector<int64_t> values) {
  return *Tensor::from_vector(DataType::int64, {static_cast<int64_t>(values.size())}, values);
}
Tensor scalar(int64_t value) { return *Tensor::from_vector(DataType::int64, {}, std::vector<int64_t>{value}); }



std::string type_of(const ValueTypes& types, const std::string& name) {
  auto it = types.find(name);
  return it == types.end() ? "missing" : it->second.to_string();
}

TEST(ShapeInference, BroadcastCarriesSymbolicDims) {
  Graph g;
  g.inputs = {input("a", DataType::float32, Dims{sym("batch"), d(3)}), input("b", DataType::float32, Dims{d(1), d(3)})};
  g.nodes = {node("add", "Add", {"a", "b"}, {"sum"}), node("relu", "Relu", {"sum"}, {"y"}),
             node("eq", "Equal", {"a", "b"}, {"mask"})};
  Model m = model_with(g);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "sum"), "tensor(float)[batch,3]");
  EXPECT_EQ(type_of(*types, "y"), "tensor(float)[batch,3]");
  EXPECT_EQ(type_of(*types, "mask"), "tensor(bool)[batch,3]");
}

TEST(ShapeInference, MatMulGemmAndConv) {
  Graph g;
  g.inputs = {input("x", DataType::float32, Dims{sym("N"), d(3), d(224), d(224)}),
              input("a", DataType::float32, Dims{d(2), sym("S"), d(8)}), input("b", DataType::float32, Dims{d(8), d(5)})};
  g.initializers["w"] = *Tensor::create(DataType::float32, {16, 3, 3, 3});
  g.initializers["gw"] = *Tensor::create(DataType::float32, {7, 5});
  Node conv = node("conv", "Conv", {"x", "w"}, {"c"});
  conv.attributes["strides"] = ints_attr("strides", {2, 2});
  conv.attributes["pads"] = ints_attr("pads", {1, 1, 1, 1});
  Node pool = node("pool", "MaxPool", {"c"}, {"p"});
  pool.attributes["kernel_shape"] = ints_attr("kernel_shape", {2, 2});
  pool.attributes["strides"] = ints_attr("strides", {2, 2});
  Node gemm = node("gemm", "Gemm", {"b", "gw"}, {"gy"});
  gemm.attributes["transB"] = int_attr("transB", 1);
  g.nodes = {conv, pool, node("mm", "MatMul", {"a", "b"}, {"m"}), gemm, node("gap", "GlobalAveragePool", {"p"}, {"gp"})};
  Model m = model_with(g);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "c"), "tensor(float)[N,16,112,112]");
  EXPECT_EQ(type_of(*types, "p"), "tensor(float)[N,16,56,56]");
  EXPECT_EQ(type_of(*types, "gp"), "tensor(float)[N,16,1,1]");
  EXPECT_EQ(type_of(*types, "m"), "tensor(float)[2,S,5]");
  EXPECT_EQ(type_of(*types, "gy"), "tensor(float)[8,7]");
}

// The PyTorch export of a multi-head split: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
TEST(ShapeInference, ShapeValuesReachReshape) {
  Graph g;
  g.inputs = {input("x", DataType::float32, Dims{sym("batch"), sym("seq"), d(768)})};
  g.initializers["i0"] = scalar(0);
  g.initializers["i1"] = scalar(1);
  g.initializers["axes"] = ints({0});
  g.initializers["heads"] = ints({12, 64});
  g.initializers["flat"] = ints({-1, 768});
  g.nodes = {node("shape", "Shape", {"x"}, {"s"}),
             node("g0", "Gather", {"s", "i0"}, {"b"}),
             node("g1", "Gather", {"s", "i1"}, {"q"}),
             node("u0", "Unsqueeze", {"b", "axes"}, {"ub"}),
             node("u1", "Unsqueeze", {"q", "axes"}, {"uq"}),
             node("cat", "Concat", {"ub", "uq", "heads"}, {"target"}),
             node("reshape", "Reshape", {"x", "target"}, {"r"}),
             node("perm", "Transpose", {"r"}, {"t"}),
             node("flatten", "Reshape", {"x", "flat"}, {"f"})};
  g.nodes[5].attributes["axis"] = int_attr("axis", 0);
  g.nodes[7].attributes["perm"] = ints_attr("perm", {0, 2, 1, 3});
  Model m = model_with(g, 13);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "s"), "tensor(int64)[3]");
  EXPECT_EQ(type_of(*types, "b"), "tensor(int64)[]");
  EXPECT_EQ(type_of(*types, "target"), "tensor(int64)[4]");
  EXPECT_EQ(type_of(*types, "r"), "tensor(float)[batch,seq,12,64]");
  EXPECT_EQ(type_of(*types, "t"), "tensor(float)[batch,12,seq,64]");
  EXPECT_EQ(type_of(*types, "f"), "tensor(float)[?,768]");
}

TEST(ShapeInference, ConstantInputsDetermineShapes) {
  Graph g;
  g.inputs = {input("x", DataType::float32, Dims{d(2), d(3), d(4)})};
  g.initializers["starts"] = ints({1, 0});
  g.initializers["ends"] = ints({3, 1000});
  g.initializers["axes"] = ints({1, 2});
  g.initializers["steps"] = ints({1, 2});
  g.initializers["repeats"] = ints({1, 2, 1});
  g.initializers["split"] = ints({1, 2});
  g.initializers["k"] = ints({2});
  g.initializers["pads"] = ints({0, 1, 0, 0, 2, 0});
  g.initializers["shape"] = ints({3, 1, 1, 4});
  Node split = node("split", "Split", {"x", "split"}, {"s0", "s1"});
  split.attributes["axis"] = int_attr("axis", 1);
  g.nodes = {node("slice", "Slice", {"x", "starts", "ends", "axes", "steps"}, {"sl"}),
             node("tile", "Tile", {"x", "repeats"}, {"ti"}), split, node("topk", "TopK", {"x", "k"}, {"tv", "ti2"}),
             node("pad", "Pad", {"x", "pads"}, {"pd"}), node("cos", "ConstantOfShape", {"shape"}, {"zeros"}),
             node("nz", "NonZero", {"x"}, {"nzi"}), node("expand", "Expand", {"x", "shape"}, {"ex"})};
  Model m = model_with(g, 17);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "sl"), "tensor(float)[2,2,2]");
  EXPECT_EQ(type_of(*types, "ti"), "tensor(float)[2,6,4]");
  EXPECT_EQ(type_of(*types, "s0"), "tensor(float)[2,1,4]");
  EXPECT_EQ(type_of(*types, "s1"), "tensor(float)[2,2,4]");
  EXPECT_EQ(type_of(*types, "tv"), "tensor(float)[2,3,2]");
  EXPECT_EQ(type_of(*types, "ti2"), "tensor(int64)[2,3,2]");
  EXPECT_EQ(type_of(*types, "pd"), "tensor(float)[2,6,4]");
  EXPECT_EQ(type_of(*types, "zeros"), "tensor(float)[3,1,1,4]");
  EXPECT_EQ(type_of(*types, "nzi"), "tensor(int64)[3,?]");
  EXPECT_EQ(type_of(*types, "ex"), "tensor(float)[3,2,3,4]");
}

// fuzz_model_load and fuzz_session_run found Tile multiplying a dim by its repeat with signed
// overflow (UBSan); such a dim is unknown, not wrapped.
TEST(ShapeInference, TileOverflowingDimIsUnknownNotWrapped) {
  Graph g;
  g.inputs = {input("x", DataType::float32, Dims{d(int64_t{1} << 62), d(3)})};
  g.initializers["repeats"] = ints({4, 2});
  g.nodes = {node("tile", "Tile", {"x", "repeats"}, {"ti"})};
  Model m = model_with(g, 17);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "ti"), "tensor(float)[?,6]");
}

TEST(ShapeInference, ReshapeOverflowingInputCountLeavesTheInferredDimUnknown) {
  // 2^62 x 8 wraps to 0 in int64: the -1 was inferred as 0.
  Graph g;
  g.inputs = {input("x", DataType::float32, Dims{d(int64_t{1} << 62), d(8)})};
  g.initializers["shape"] = ints({-1, 1});
  g.nodes = {node("reshape", "Reshape", {"x", "shape"}, {"r"})};
  Model m = model_with(g, 17);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "r"), "tensor(float)[?,1]");
}

TEST(ShapeInference, DepthToSpaceBlocksizeZeroIsAnErrorAndAnOverflowIsUnknown) {
  // A fuzzer's model: blocksize 0 divided by zero here (UBSan), and a huge one wrapped H * b.
  auto infer = [](int64_t blocksize, Dims x_dims) {
    Graph g;
    g.inputs = {input("x", DataType::float32, std::move(x_dims))};
    g.nodes = {node("d2s", "DepthToSpace", {"x"}, {"y"})};
    g.nodes[0].attributes["blocksize"] = int_attr("blocksize", blocksize);
    Model m = model_with(g, 13);
    return infer_types(m.graph, m, {});
  };
  auto zero = infer(0, Dims{d(1), d(4), d(2), d(2)});
  ASSERT_FALSE(zero.is_ok());
  EXPECT_NE(zero.status().message().find("blocksize must be positive"), std::string::npos) << zero.status().message();
  auto huge = infer(int64_t{1} << 40, Dims{d(1), d(0), d(int64_t{1} << 30), d(3)});
  ASSERT_TRUE(huge.is_ok()) << huge.status().message();
  EXPECT_EQ(type_of(*huge, "y"), "tensor(float)[1,?,?,3298534883328]");
}

TEST(ShapeInference, OverflowingDimArithmeticIsAnErrorOrUnknownNeverWrapped) {
  // A fuzzer's model: a Conv whose weights' channels times group passed int64 (UBSan).
  Graph conv;
  conv.inputs = {input("x", DataType::float32, Dims{d(1), d(2), d(4), d(4)}),
                 input("w", DataType::float32, Dims{d(1), d(int64_t{1} << 62), d(1), d(1)})};
  conv.nodes = {node("conv", "Conv", {"x", "w"}, {"y"})};
  conv.nodes[0].attributes["group"] = int_attr("group", 2);
  Model conv_model = model_with(conv, 13);
  auto conv_types = infer_types(conv_model.graph, conv_model, {});
  ASSERT_FALSE(conv_types.is_ok());
  EXPECT_NE(conv_types.status().message().find("take more than 2^63"), std::string::npos) << conv_types.status().message();

  // Concat of two dims whose sum passes int64, and a Pad that would: unknown, not negative.
  Graph concat;
  concat.inputs = {input("a", DataType::float32, Dims{d(int64_t{1} << 62)}), input("b", DataType::float32, Dims{d(int64_t{1} << 62)})};
  concat.nodes = {node("cat", "Concat", {"a", "b"}, {"y"})};
  concat.nodes[0].attributes["axis"] = int_attr("axis", 0);
  Model concat_model = model_with(concat, 13);
  auto concat_types = infer_types(concat_model.graph, concat_model, {});
  ASSERT_TRUE(concat_types.is_ok()) << concat_types.status().message();
  EXPECT_EQ(type_of(*concat_types, "y"), "tensor(float)[?]");
}

TEST(ShapeInference, AShapeOperandsDeclaredLengthGivesTheRankOnlyUpToARealRank) {
  // A fuzzer's model: Reshape's target declared as a 1-D tensor of ~6e13 values, taken as the
  // output's rank, made inference allocate that many dims. Reshape, Expand and ConstantOfShape
  // take the rank from that length: known up to kMaxTargetRank, unknown past it.
  for (int64_t length : {int64_t{3}, kMaxTargetRank + 1, int64_t{0x369e80000000}}) {
    Graph g;
    g.inputs = {input("x", DataType::float32, Dims{d(2)}), input("shape", DataType::int64, Dims{d(length)})};
    g.nodes = {node("reshape", "Reshape", {"x", "shape"}, {"r"}), node("expand", "Expand", {"x", "shape"}, {"e"}),
               node("fill", "ConstantOfShape", {"shape"}, {"c"})};
    Model m = model_with(g, 17);
    auto types = infer_types(m.graph, m, {});
    ASSERT_TRUE(types.is_ok()) << types.status().message();
    const bool known = length <= kMaxTargetRank;
    EXPECT_EQ(type_of(*types, "r"), known ? "tensor(float)[?,?,?]" : "tensor(float)") << length;
    EXPECT_EQ(type_of(*types, "e"), known ? "tensor(float)[?,?,?]" : "tensor(float)") << length;
    EXPECT_EQ(type_of(*types, "c"), known ? "tensor(float)[?,?,?]" : "tensor(float)") << length;
  }
}

TEST(ShapeInference, IfMergesBranchesAndDeclaredTypesFillGaps) {
  auto branch = [](const std::string& op, const std::string& out) {
    auto b = std::make_shared<Graph>();
    b->name = op;
    b->nodes = {node(op + "_n", op, {"x"}, {out})};
    b->outputs = {ValueInfo{out, TypeInfo{}}};
    return b;
  };
  Graph g;
  g.inputs = {input("c", DataType::boolean, Dims{}), input("x", DataType::float32, Dims{sym("n"), d(4)})};
  Node if_node = node("if", "If", {"c"}, {"y"});
  if_node.attributes["then_branch"].name = "then_branch";
  if_node.attributes["then_branch"].type = Attribute::Type::graph_;
  if_node.attributes["then_branch"].g = branch("Relu", "t");
  if_node.attributes["else_branch"].name = "else_branch";
  if_node.attributes["else_branch"].type = Attribute::Type::graph_;
  if_node.attributes["else_branch"].g = branch("Neg", "e");
  g.nodes = {if_node, node("unknown", "NonMaxSuppression", {"x", "x"}, {"sel"}), node("cast", "Cast", {"x"}, {"h"})};
  g.nodes[2].attributes["to"] = int_attr("to", static_cast<int64_t>(DataType::float16));
  g.value_infos = {ValueInfo{"sel", tensor_type(DataType::undefined, Dims{sym("k"), d(3)})}};
  Model m = model_with(g);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "y"), "tensor(float)[n,4]");
  EXPECT_EQ(type_of(*types, "sel"), "tensor(int64)[k,3]");  // dtype from the schema, shape declared
  EXPECT_EQ(type_of(*types, "h"), "tensor(float16)[n,4]");
}

Status infer_error(Graph g, int64_t opset = 17) {
  Model m = model_with(std::move(g), opset);
  return infer_types(m.graph, m, {}).status();
}

TEST(ShapeInference, ContradictionsNameTheNode) {
  Graph mm;
  mm.inputs = {input("a", DataType::float32, Dims{d(1), d(3)}), input("b", DataType::float32, Dims{d(4), d(5)})};
  mm.nodes = {node("mm", "MatMul", {"a", "b"}, {"y"})};
  Status s = infer_error(mm);
  EXPECT_EQ(s.message(), "node 'mm' (MatMul): inner dimensions differ: [1,3] x [4,5]");

  Graph add;
  add.inputs = {input("a", DataType::float32, Dims{d(2), d(3)}), input("b", DataType::float32, Dims{d(4), d(3)})};
  add.nodes = {node("add", "Add", {"a", "b"}, {"y"})};
  EXPECT_NE(infer_error(add).message().find("node 'add' (Add): shapes [2,3] and [4,3] cannot be broadcast"), std::string::npos);

  Graph cat;
  cat.inputs = {input("a", DataType::float32, Dims{d(2), d(3)}), input("b", DataType::float32, Dims{d(2), d(3), d(1)})};
  cat.nodes = {node("cat", "Concat", {"a", "b"}, {"y"})};
  cat.nodes[0].attributes["axis"] = int_attr("axis", 0);
  EXPECT_NE(infer_error(cat).message().find("node 'cat' (Concat): inputs have different ranks"), std::string::npos);

  Graph declared;
  declared.inputs = {input("a", DataType::float32, Dims{d(2), d(3)})};
  declared.nodes = {node("relu", "Relu", {"a"}, {"y"})};
  declared.outputs = {ValueInfo{"y", tensor_type(DataType::float32, Dims{d(2), d(4)})}};
  EXPECT_NE(infer_error(declared).message().find("node 'relu' (Relu): output 'y' is declared tensor(float)[2,4]"), std::string::npos);

  // Unknown and symbolic dims never make an error.
  Graph fine;
  fine.inputs = {input("a", DataType::float32, Dims{sym("n"), Dim{}}), input("b", DataType::float32, Dims{d(4), d(5)})};
  fine.nodes = {node("mm", "MatMul", {"a", "b"}, {"y"})};
  Model m = model_with(fine);
  auto types = infer_types(m.graph, m, {});
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(type_of(*types, "y"), "tensor(float)[n,5]");
}

}  // namespace
}  // namespace tessera

// Found by fuzz_model_load (UBSan: signed overflow in product_dim under Reshape's inference): a
// product of declared dims past int64 is unknown, not a wrapped value; a zero still makes it 0.
namespace tessera {
namespace {

TEST(ProductDim, OverflowIsUnknownNotWrapped) {
  const Dims huge = {fixed_dim(int64_t{1} << 62), fixed_dim(4), fixed_dim(3)};
  const Dim product = product_dim(huge, 0, huge.size());
  EXPECT_FALSE(product.is_fixed()) << product.value;
  EXPECT_TRUE(product.param.empty());
  const Dims with_zero = {fixed_dim(int64_t{1} << 62), fixed_dim(4), fixed_dim(0)};
  EXPECT_EQ(product_dim(with_zero, 0, with_zero.size()).value, 0);
  const Dims fits = {fixed_dim(int64_t{1} << 30), fixed_dim(4)};
  EXPECT_EQ(product_dim(fits, 0, fits.size()).value, int64_t{1} << 32);
}

}  // namespace
}  // namespace tessera
