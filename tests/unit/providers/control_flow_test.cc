// If, Loop and Scan run through a real session: bodies read outer-scope values, carry tensors
// and sequences, stack scan outputs along the requested axes and directions.
#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

Tensor scalar_bool(bool v) { return Tensor::scalar<bool>(DataType::boolean, v); }

TypeInfo seq_type(DataType dtype) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::sequence;
  t.inner = std::make_shared<TypeInfo>(tensor_type(dtype));
  return t;
}

Attribute attr_g(const std::string& name, Graph g) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::graph_;
  a.g = std::make_shared<Graph>(std::move(g));
  return a;
}

// Builds a Graph: inputs, nodes, outputs in order.
class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name) { g_.name = std::move(name); }
  GraphBuilder& input(const std::string& name, TypeInfo type) {
    g_.inputs.push_back({name, std::move(type)});
    return *this;
  }
  GraphBuilder& output(const std::string& name, TypeInfo type) {
    g_.outputs.push_back({name, std::move(type)});
    return *this;
  }
  GraphBuilder& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                     std::vector<Attribute> attrs = {}) {
    Node n;
    n.name = op + "_" + std::to_string(g_.nodes.size());
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    for (auto& a : attrs) n.attributes[a.name] = std::move(a);
    g_.nodes.push_back(std::move(n));
    return *this;
  }
  Graph build() { return std::move(g_); }

 private:
  Graph g_;
};

Result<std::vector<Value>> run_graph(Graph graph, int64_t opset, const Feeds& feeds) {
  TS_ASSIGN_OR_RETURN(std::unique_ptr<SessionState> session, make_session(std::move(graph), opset));
  return session->run(feeds, {});
}

TypeInfo f32() { return tensor_type(DataType::float32); }
TypeInfo f32(Shape shape) { return tensor_type(DataType::float32, shape); }
TypeInfo i64() { return tensor_type(DataType::int64); }
TypeInfo i64(Shape shape) { return tensor_type(DataType::int64, shape); }
TypeInfo boolean() { return tensor_type(DataType::boolean, Shape{}); }

// out = If(cond) { Identity(x) } else { y }: the else branch returns an outer value directly.
Graph if_graph() {
  Graph then_branch = GraphBuilder("then").node("Identity", {"x"}, {"t_out"}).output("t_out", f32()).build();
  Graph else_branch = GraphBuilder("else").output("y", f32()).build();
  return GraphBuilder("if")
      .input("cond", boolean())
      .input("x", f32({2}))
      .input("y", f32({2}))
      .node("If", {"cond"}, {"out"}, {attr_g("then_branch", then_branch), attr_g("else_branch", else_branch)})
      .output("out", f32())
      .build();
}

TEST(ControlFlow, IfTakesTheBranchTheConditionPicks) {
  auto session = make_session(if_graph(), 13);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  Tensor x = tf({2}, {1, 2}), y = tf({2}, {3, 4});
  auto taken = (*session)->run({{"cond", scalar_bool(true)}, {"x", x}, {"y", y}}, {});
  ASSERT_TRUE(taken.is_ok()) << taken.status().message();
  expect_tensor<float>((*taken)[0], {2}, {1, 2});
  auto other = (*session)->run({{"cond", scalar_bool(false)}, {"x", x}, {"y", y}}, {});
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  expect_tensor<float>((*other)[0], {2}, {3, 4});
}

TEST(ControlFlow, IfRejectsAConditionWithSeveralElements) {
  Graph g = if_graph();
  g.inputs[0].type = tensor_type(DataType::boolean);
  auto session = make_session(std::move(g), 13);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  Tensor cond = tensor_of<bool>(DataType::boolean, {2}, {true, false});
  auto r = (*session)->run({{"cond", cond}, {"x", tf({2}, {1, 2})}, {"y", tf({2}, {3, 4})}}, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("If"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("one element"), std::string::npos) << r.status().message();
}

// (y, scan) = Loop(M, cond, y0) { y_out = y_in + x (outer); scan = y_out }
Graph loop_sum_graph(bool with_m) {
  Graph body = GraphBuilder("body")
                   .input("iter", i64(Shape{}))
                   .input("cond_in", boolean())
                   .input("y_in", f32({2}))
                   .node("Add", {"y_in", "x"}, {"y_out"})
                   .node("Identity", {"cond_in"}, {"cond_out"})
                   .node("Identity", {"y_out"}, {"scan"})
                   .output("cond_out", boolean())
                   .output("y_out", f32({2}))
                   .output("scan", f32({2}))
                   .build();
  return GraphBuilder("loop")
      .input("M", i64(Shape{}))
      .input("cond", boolean())
      .input("y0", f32({2}))
      .input("x", f32({2}))
      .node("Loop", {with_m ? "M" : "", "cond", "y0"}, {"y", "scan_all"}, {attr_g("body", body)})
      .output("y", f32())
      .output("scan_all", f32())
      .build();
}

TEST(ControlFlow, LoopCarriesValuesAndStacksScanOutputs) {
  auto r = run_graph(loop_sum_graph(true), 13,
                     {{"M", ti64({}, {3})}, {"cond", scalar_bool(true)}, {"y0", tf({2}, {1, 2})},
                      {"x", tf({2}, {10, 20})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_tensor<float>((*r)[0], {2}, {31, 62});
  expect_tensor<float>((*r)[1], {3, 2}, {11, 22, 21, 42, 31, 62});
}

TEST(ControlFlow, LoopWithZeroTripsReturnsInitialValuesAndEmptyScans) {
  auto r = run_graph(loop_sum_graph(true), 13,
                     {{"M", ti64({}, {0})}, {"cond", scalar_bool(true)}, {"y0", tf({2}, {1, 2})},
                      {"x", tf({2}, {10, 20})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_tensor<float>((*r)[0], {2}, {1, 2});
  expect_tensor<float>((*r)[1], {0, 2}, {});
  // A false initial condition runs nothing either.
  auto none = run_graph(loop_sum_graph(true), 13,
                        {{"M", ti64({}, {5})}, {"cond", scalar_bool(false)}, {"y0", tf({2}, {1, 2})},
                         {"x", tf({2}, {10, 20})}});
  ASSERT_TRUE(none.is_ok()) << none.status().message();
  expect_tensor<float>((*none)[0], {2}, {1, 2});
}

// Loop("", cond) { cond_out = iter < limit (outer); scan = iter }: a while loop.
TEST(ControlFlow, LoopStopsWhenTheBodyConditionTurnsFalse) {
  Graph body = GraphBuilder("body")
                   .input("iter", i64(Shape{}))
                   .input("cond_in", boolean())
                   .node("Less", {"iter", "limit"}, {"cond_out"})
                   .node("Identity", {"iter"}, {"scan"})
                   .output("cond_out", boolean())
                   .output("scan", i64(Shape{}))
                   .build();
  Graph g = GraphBuilder("while")
                .input("cond", boolean())
                .input("limit", i64(Shape{}))
                .node("Loop", {"", "cond"}, {"iters"}, {attr_g("body", body)})
                .output("iters", i64())
                .build();
  auto r = run_graph(std::move(g), 13, {{"cond", scalar_bool(true)}, {"limit", ti64({}, {2})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_tensor<int64_t>((*r)[0], {3}, {0, 1, 2});
}

TEST(ControlFlow, LoopCarriesASequence) {
  Graph body = GraphBuilder("body")
                   .input("iter", i64(Shape{}))
                   .input("cond_in", boolean())
                   .input("seq_in", seq_type(DataType::int64))
                   .node("Identity", {"cond_in"}, {"cond_out"})
                   .node("SequenceInsert", {"seq_in", "iter"}, {"seq_out"})
                   .output("cond_out", boolean())
                   .output("seq_out", seq_type(DataType::int64))
                   .build();
  Graph g = GraphBuilder("seq_loop")
                .input("M", i64(Shape{}))
                .node("SequenceEmpty", {}, {"empty"}, {attr_i("dtype", static_cast<int64_t>(DataType::int64))})
                .node("Loop", {"M", "", "empty"}, {"seq"}, {attr_g("body", body)})
                .output("seq", seq_type(DataType::int64))
                .build();
  auto r = run_graph(std::move(g), 13, {{"M", ti64({}, {3})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Value& seq = (*r)[0];
  ASSERT_TRUE(seq.is_sequence());
  ASSERT_EQ(seq.items().size(), 3u);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(seq.items()[i].tensor().data<int64_t>()[0], i);
}

// An empty optional is carried through the loop as one (not as 'no value'); a sequence is not a
// valid scan output and says so.
TEST(ControlFlow, LoopCarriesAnEmptyOptionalAndRefusesSequenceScanOutputs) {
  TypeInfo opt_seq;
  opt_seq.kind = TypeInfo::Kind::optional;
  opt_seq.inner = std::make_shared<TypeInfo>(seq_type(DataType::int64));
  Graph body = GraphBuilder("body")
                   .input("iter", i64(Shape{}))
                   .input("cond_in", boolean())
                   .input("opt_in", opt_seq)
                   .node("Identity", {"cond_in"}, {"cond_out"})
                   .node("Identity", {"opt_in"}, {"opt_out"})
                   .node("OptionalHasElement", {"opt_in"}, {"had"})
                   .output("cond_out", boolean())
                   .output("opt_out", opt_seq)
                   .output("had", tensor_type(DataType::boolean, Shape{}))
                   .build();
  Graph g = GraphBuilder("opt_loop")
                .input("M", i64(Shape{}))
                .node("Optional", {}, {"none"}, {})
                .node("Loop", {"M", "", "none"}, {"final", "had"}, {attr_g("body", body)})
                .output("final", opt_seq)
                .output("had", tensor_type(DataType::boolean, Shape{2}))
                .build();
  auto r = run_graph(std::move(g), 18, {{"M", ti64({}, {2})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE((*r)[0].is_empty_optional());
  expect_tensor<bool>((*r)[1], {2}, {false, false});

  Graph seq_body = GraphBuilder("body")
                       .input("iter", i64(Shape{}))
                       .input("cond_in", boolean())
                       .node("Identity", {"cond_in"}, {"cond_out"})
                       .node("SequenceConstruct", {"iter"}, {"seq"})
                       .output("cond_out", boolean())
                       .output("seq", seq_type(DataType::int64))
                       .build();
  Graph bad = GraphBuilder("seq_scan")
                  .input("M", i64(Shape{}))
                  .node("Loop", {"M", ""}, {"seqs"}, {attr_g("body", seq_body)})
                  .output("seqs", i64())
                  .build();
  auto err = run_graph(std::move(bad), 13, {{"M", ti64({}, {2})}});
  ASSERT_FALSE(err.is_ok());
  EXPECT_NE(err.status().message().find("is seq(tensor(int64)) in iteration 0; scan outputs must be tensors"), std::string::npos)
      << err.status().message();
}

// Loop body with an If whose branch reads a value two scopes up.
TEST(ControlFlow, NestedSubgraphsReadValuesFromTheMainGraph) {
  Graph then_branch = GraphBuilder("then").node("Add", {"acc_in", "x"}, {"t"}).output("t", f32()).build();
  Graph else_branch = GraphBuilder("else").node("Identity", {"acc_in"}, {"e"}).output("e", f32()).build();
  Graph body = GraphBuilder("body")
                   .input("iter", i64(Shape{}))
                   .input("cond_in", boolean())
                   .input("acc_in", f32({1}))
                   .node("If", {"cond_in"}, {"acc_out"}, {attr_g("then_branch", then_branch), attr_g("else_branch", else_branch)})
                   .node("Identity", {"cond_in"}, {"cond_out"})
                   .output("cond_out", boolean())
                   .output("acc_out", f32({1}))
                   .build();
  Graph g = GraphBuilder("nested")
                .input("M", i64(Shape{}))
                .input("cond", boolean())
                .input("acc", f32({1}))
                .input("x", f32({1}))
                .node("Loop", {"M", "cond", "acc"}, {"acc_final"}, {attr_g("body", body)})
                .output("acc_final", f32())
                .build();
  auto r = run_graph(std::move(g), 13,
                     {{"M", ti64({}, {4})}, {"cond", scalar_bool(true)}, {"acc", tf({1}, {1})},
                      {"x", tf({1}, {0.5f})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_tensor<float>((*r)[0], {1}, {3});
}

// Scan-9+: running sum over the columns of x (axis 1) in reverse; the sums are stacked once along
// axis 0 (appended) and once along axis 1 (prepended).
TEST(ControlFlow, ScanHonoursAxesAndDirections) {
  Graph body = GraphBuilder("body")
                   .input("s_in", f32({2}))
                   .input("col", f32({2}))
                   .node("Add", {"s_in", "col"}, {"s_out"})
                   .node("Identity", {"s_out"}, {"a"})
                   .node("Identity", {"s_out"}, {"b"})
                   .output("s_out", f32({2}))
                   .output("a", f32({2}))
                   .output("b", f32({2}))
                   .build();
  Graph g = GraphBuilder("scan")
                .input("s0", f32({2}))
                .input("x", f32({2, 3}))
                .node("Scan", {"s0", "x"}, {"s", "a_all", "b_all"},
                      {attr_g("body", body), attr_i("num_scan_inputs", 1), attr_ints("scan_input_axes", {1}),
                       attr_ints("scan_input_directions", {1}), attr_ints("scan_output_axes", {0, -1}),
                       attr_ints("scan_output_directions", {0, 1})})
                .output("s", f32())
                .output("a_all", f32())
                .output("b_all", f32())
                .build();
  auto r = run_graph(std::move(g), 16, {{"s0", tf({2}, {0, 0})}, {"x", tf({2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_tensor<float>((*r)[0], {2}, {6, 15});
  expect_tensor<float>((*r)[1], {3, 2}, {3, 6, 5, 11, 6, 15});
  expect_tensor<float>((*r)[2], {2, 3}, {6, 5, 3, 15, 11, 6});
}

TEST(ControlFlow, ScanRejectsScanInputsOfDifferentLengths) {
  Graph body = GraphBuilder("body")
                   .input("a", f32())
                   .input("b", f32())
                   .node("Add", {"a", "b"}, {"c"})
                   .output("c", f32())
                   .build();
  Graph g = GraphBuilder("scan")
                .input("x", f32({3}))
                .input("y", f32({4}))
                .node("Scan", {"x", "y"}, {"z"}, {attr_g("body", body), attr_i("num_scan_inputs", 2)})
                .output("z", f32())
                .build();
  auto r = run_graph(std::move(g), 11, {{"x", tf({3}, {1, 2, 3})}, {"y", tf({4}, {1, 2, 3, 4})}});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("sequence length"), std::string::npos) << r.status().message();
}

// Scan-8: batch axis 0, sequence axis 1, per-batch lengths; outputs past a length stay zero.
Graph scan8_graph(int64_t direction) {
  Graph body = GraphBuilder("body")
                   .input("s_in", f32(Shape{}))
                   .input("xi", f32(Shape{}))
                   .node("Add", {"s_in", "xi"}, {"s_out"})
                   .node("Identity", {"s_out"}, {"scan"})
                   .output("s_out", f32(Shape{}))
                   .output("scan", f32(Shape{}))
                   .build();
  return GraphBuilder("scan8")
      .input("lens", i64({2}))
      .input("s0", f32({2}))
      .input("x", f32({2, 3}))
      .node("Scan", {"lens", "s0", "x"}, {"s", "scan_all"},
            {attr_g("body", body), attr_i("num_scan_inputs", 1), attr_ints("directions", {direction})})
      .output("s", f32())
      .output("scan_all", f32())
      .build();
}

TEST(ControlFlow, Scan8HandlesBatchesAndSequenceLengths) {
  Feeds feeds{{"lens", ti64({2}, {3, 2})}, {"s0", tf({2}, {0, 100})}, {"x", tf({2, 3}, {1, 2, 3, 4, 5, 6})}};
  auto forward = run_graph(scan8_graph(0), 8, feeds);
  ASSERT_TRUE(forward.is_ok()) << forward.status().message();
  expect_tensor<float>((*forward)[0], {2}, {6, 109});
  expect_tensor<float>((*forward)[1], {2, 3}, {1, 3, 6, 104, 109, 0});
  auto reverse = run_graph(scan8_graph(1), 8, feeds);
  ASSERT_TRUE(reverse.is_ok()) << reverse.status().message();
  expect_tensor<float>((*reverse)[0], {2}, {6, 109});
  expect_tensor<float>((*reverse)[1], {2, 3}, {3, 5, 6, 105, 109, 0});
}

TEST(ControlFlow, SequenceMapAppliesTheBodyPerItem) {
  Graph body = GraphBuilder("body")
                   .input("item", f32())
                   .input("bias", f32())
                   .node("Add", {"item", "bias"}, {"sum"})
                   .node("Shape", {"item"}, {"shape"})
                   .output("sum", f32())
                   .output("shape", i64())
                   .build();
  Graph g = GraphBuilder("map")
                .input("seq", seq_type(DataType::float32))
                .input("bias", f32({1}))
                .node("SequenceMap", {"seq", "bias"}, {"sums", "shapes"}, {attr_g("body", body)})
                .output("sums", seq_type(DataType::float32))
                .output("shapes", seq_type(DataType::int64))
                .build();
  Value seq = Value::sequence({tf({2}, {1, 2}), tf({1}, {3})});
  auto r = run_graph(std::move(g), 17, {{"seq", seq}, {"bias", tf({1}, {10})}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_TRUE((*r)[0].is_sequence());
  ASSERT_EQ((*r)[0].items().size(), 2u);
  expect_tensor<float>(Value((*r)[0].items()[0]), {2}, {11, 12});
  expect_tensor<float>(Value((*r)[0].items()[1]), {1}, {13});
  EXPECT_EQ((*r)[1].sequence_elem_type(), DataType::int64);
  expect_tensor<int64_t>(Value((*r)[1].items()[0]), {1}, {2});
  expect_tensor<int64_t>(Value((*r)[1].items()[1]), {1}, {1});
}

}  // namespace
}  // namespace tessera::kernel_test
