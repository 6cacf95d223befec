// The partitioner and the executor's copy steps with a device EP (test_device_ep.h): which EP
// runs each node, the subgraphs, copies exactly where a value crosses memory kinds, shape
// computations kept on the host, and the same numbers as the CPU EP alone.
#include <gtest/gtest.h>

#include <cmath>

#include "framework/partitioner.h"
#include "framework/session.h"
#include "tests/unit/framework/test_device_ep.h"
#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

// Inputs x, y: float [2,3]; initializers w: float [2,3], one: int64 [1].
//   0 shp  = Shape(x)          CPU (Shape)
//   1 shp2 = Mul(shp, one)     CPU: the device EP claims it, but it only feeds Reshape's shape
//   2 a    = Add(x, y)         device   copies x, y to the device
//   3 r    = Relu(a)           device
//   4 s    = Sigmoid(r)        CPU      copies r to the host (also graph output 'r': one copy)
//   5 m    = Mul(s, r)         device   copies s to the device
//   6 m2   = Mul(m, w)         device   copies w to the device once, at session creation
//   7 out  = Reshape(m2, shp2) CPU      copies m2 to the host
// Outputs: out, r.
Model crossing_model() {
  Model m;
  m.source = "crossing";
  m.opset_imports[""] = 17;
  Graph& g = m.graph;
  g.inputs = {tensor_value("x", DataType::float32, {2, 3}), tensor_value("y", DataType::float32, {2, 3})};
  g.outputs = {tensor_value("out", DataType::float32, {2, 3}), tensor_value("r", DataType::float32, {2, 3})};
  g.initializers["w"] = tensor_of<float>(DataType::float32, {2, 3}, {1, 2, 3, 4, 5, 6});
  g.initializers["one"] = tensor_of<int64_t>(DataType::int64, {1}, {1});
  g.nodes = {node("shape", "Shape", {"x"}, {"shp"}),     node("shape_mul", "Mul", {"shp", "one"}, {"shp2"}),
             node("add", "Add", {"x", "y"}, {"a"}),        node("relu", "Relu", {"a"}, {"r"}),
             node("sigmoid", "Sigmoid", {"r"}, {"s"}),    node("mul", "Mul", {"s", "r"}, {"m"}),
             node("mul_w", "Mul", {"m", "w"}, {"m2"}),     node("reshape", "Reshape", {"m2", "shp2"}, {"out"})};
  return m;
}

const std::vector<float> kX = {-1, 0.5f, 2, -3, 1, 0.25f}, kY = {0.5f, 0.5f, -1, 1, 1, 1};

std::vector<float> expected_out() {
  std::vector<float> out;
  for (size_t i = 0; i < kX.size(); ++i) {
    const float r = std::max(kX[i] + kY[i], 0.0f);
    out.push_back(r / (1.0f + std::exp(-r)) * static_cast<float>(i + 1));
  }
  return out;
}

Result<std::unique_ptr<SessionState>> make_session(Model model, std::unique_ptr<ExecutionProvider> device, bool strict = false,
                                                   int inter_op_threads = 1) {
  std::vector<std::unique_ptr<ExecutionProvider>> providers;
  if (device) providers.push_back(std::move(device));
  providers.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.strict_placement = strict;
  options.optimization_level = OptimizationLevel::disabled;  // the graph as written
  options.warm_up = false;  // the tests count the copies and computes of their own runs
  options.intra_op_threads = 1;
  options.execution_mode = ExecutionMode::parallel;  // one inter-op thread runs as sequential
  options.inter_op_threads = inter_op_threads;
  return SessionState::create(std::move(model), std::move(providers), options);
}

TEST(DevicePartition, PlacesNodesSubgraphsAndCopiesAtCrossings) {
  auto device = std::make_unique<TestDeviceEp>();
  TestDeviceEp& ep = *device;
  auto state = make_session(crossing_model(), std::move(device));
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  const Partition& placed = (*state)->placement();

  std::vector<std::string> who;
  for (const auto* p : placed.assigned) who.push_back(p->name());
  EXPECT_EQ(who, (std::vector<std::string>{"CPU", "CPU", "test_device", "test_device", "CPU", "test_device", "test_device", "CPU"}));

  ASSERT_EQ(placed.subgraphs.size(), 5u);
  EXPECT_EQ(placed.subgraphs[0].nodes, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(placed.subgraphs[1].nodes, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(placed.subgraphs[1].provider, &ep);
  EXPECT_EQ(placed.subgraphs[2].nodes, (std::vector<size_t>{4}));
  EXPECT_EQ(placed.subgraphs[3].nodes, (std::vector<size_t>{5, 6}));
  EXPECT_EQ(placed.subgraphs[4].nodes, (std::vector<size_t>{7}));

  // Exactly the crossings: Shape reads only x's shape (no copy); r is copied to the host once,
  // for Sigmoid and the graph output alike.
  std::vector<std::string> copies;
  for (const PlannedCopy& c : placed.copies)
    copies.push_back(c.value + (c.to.is_host() ? "->host" : "->device") + (c.constant ? " once" : ""));
  EXPECT_EQ(copies, (std::vector<std::string>{"x->device", "y->device", "r->host", "s->device", "w->device once", "m2->host"}));
  EXPECT_EQ(ep.transfer.to_device.load(), 1);  // w, when the session was made
  EXPECT_EQ(ep.transfer.to_host.load(), 0);

  // The shape Mul fell back from the device EP, with the reason.
  bool shape_mul_fell_back = false;
  for (const Fallback& f : placed.fallbacks)
    if (f.node == 1 && f.provider == "test_device") shape_mul_fell_back = f.reason.find("kept on the host") != std::string::npos;
  EXPECT_TRUE(shape_mul_fell_back);

  for (int run = 1; run <= 2; ++run) {
    const int64_t allocations_before = ep.arena.allocations.load();
    auto outputs = (*state)->run({{"x", Value(tensor_of<float>(DataType::float32, {2, 3}, kX))},
                                  {"y", Value(tensor_of<float>(DataType::float32, {2, 3}, kY))}},
                                 {});
    ASSERT_TRUE(outputs.is_ok()) << outputs.status().message();
    ASSERT_EQ(outputs->size(), 2u);
    const Tensor& out = (*outputs)[0].tensor();
    const Tensor& r = (*outputs)[1].tensor();
    EXPECT_TRUE(out.location().is_host());
    EXPECT_TRUE(r.location().is_host());
    const std::vector<float> want = expected_out();
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(out.data<float>()[i], want[i], 1e-6f) << i;
      EXPECT_FLOAT_EQ(r.data<float>()[i], std::max(kX[i] + kY[i], 0.0f)) << i;
    }
    // Per run: x, y, s to the device; r, m2 to the host. The device nodes' outputs (a, r, m, m2)
    // and the three copies in come from the EP's arena.
    EXPECT_EQ(ep.transfer.to_device.load(), 1 + 3 * run);
    EXPECT_EQ(ep.transfer.to_host.load(), 2 * run);
    EXPECT_EQ(ep.arena.allocations.load() - allocations_before, 7);
    EXPECT_EQ(ep.computes_with_arena.load(), 4 * run);  // add, relu, mul, mul_w: the context gave the arena
  }
  const auto live_bytes = ep.arena.live_bytes;  // ep dies with the session
  state->reset();
  EXPECT_EQ(live_bytes->load(), 0);  // every device tensor, w's copy included, was freed
}

TEST(DevicePartition, CopyStepsRunInParallelMode) {
  // The copy steps are steps like any: in parallel mode the same copies and numbers, every
  // device tensor freed.
  auto device = std::make_unique<TestDeviceEp>();
  TestDeviceEp& ep = *device;
  auto state = make_session(crossing_model(), std::move(device), false, 3);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  for (int run = 1; run <= 5; ++run) {
    auto outputs = (*state)->run({{"x", Value(tensor_of<float>(DataType::float32, {2, 3}, kX))},
                                  {"y", Value(tensor_of<float>(DataType::float32, {2, 3}, kY))}},
                                 {});
    ASSERT_TRUE(outputs.is_ok()) << outputs.status().message();
    const std::vector<float> want = expected_out();
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*outputs)[0].tensor().data<float>()[i], want[i], 1e-6f) << i;
    EXPECT_EQ(ep.transfer.to_device.load(), 1 + 3 * run);
    EXPECT_EQ(ep.transfer.to_host.load(), 2 * run);
  }
  const auto live_bytes = ep.arena.live_bytes;  // ep dies with the session
  state->reset();
  EXPECT_EQ(live_bytes->load(), 0);
}

TEST(DevicePartition, GivesTheCpuEpAloneTheSameNumbers) {
  auto state = make_session(crossing_model(), nullptr);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  EXPECT_TRUE((*state)->placement().copies.empty());
  EXPECT_EQ((*state)->placement().subgraphs.size(), 1u);
  auto outputs = (*state)->run({{"x", Value(tensor_of<float>(DataType::float32, {2, 3}, kX))},
                                {"y", Value(tensor_of<float>(DataType::float32, {2, 3}, kY))}},
                               {});
  ASSERT_TRUE(outputs.is_ok()) << outputs.status().message();
  const std::vector<float> want = expected_out();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*outputs)[0].tensor().data<float>()[i], want[i], 1e-6f);
}

TEST(DevicePartition, GraphOutputComputedOnTheDeviceIsCopiedToTheHost) {
  Model m;
  m.source = "device_only";
  m.opset_imports[""] = 17;
  m.graph.inputs = {tensor_value("x", DataType::float32, {4})};
  m.graph.outputs = {tensor_value("y", DataType::float32, {4})};
  m.graph.nodes = {node("relu", "Relu", {"x"}, {"r"}), node("add", "Add", {"r", "r"}, {"y"})};
  auto device = std::make_unique<TestDeviceEp>();
  TestDeviceEp& ep = *device;
  auto state = make_session(std::move(m), std::move(device));
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  EXPECT_EQ((*state)->placement().subgraphs.size(), 1u);
  EXPECT_EQ((*state)->placement().copies.size(), 2u);  // x in, y out
  auto outputs = (*state)->run({{"x", Value(tensor_of<float>(DataType::float32, {4}, {-2, -0.5f, 0.5f, 3}))}}, {});
  ASSERT_TRUE(outputs.is_ok()) << outputs.status().message();
  const Tensor& y = (*outputs)[0].tensor();
  EXPECT_TRUE(y.location().is_host());
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 4), (std::vector<float>{0, 0, 1, 6}));
  EXPECT_EQ(ep.transfer.to_device.load(), 1);
  EXPECT_EQ(ep.transfer.to_host.load(), 1);
}

TEST(DevicePartition, NamesTheNodeItsDtypesAndEachEpsReasonWhenNoEpTakesIt) {
  Model m;
  m.source = "nobody";
  m.opset_imports[""] = 17;
  m.graph.inputs = {tensor_value("x", DataType::float32, {4})};
  m.graph.outputs = {tensor_value("y", DataType::float32, {4})};
  m.graph.nodes = {node("erf", "Erf", {"x"}, {"y"})};
  auto checked = check_graph(m.graph, m, {});
  ASSERT_TRUE(checked.is_ok()) << checked.status().message();
  TestDeviceEp device;
  device.ops = {"Relu"};
  auto placed = partition(m.graph, m, *checked, {&device});
  ASSERT_FALSE(placed.is_ok());
  const std::string& message = placed.status().message();
  EXPECT_NE(message.find("node 'erf' (Erf)"), std::string::npos) << message;
  EXPECT_NE(message.find("tensor(float)[4]"), std::string::npos) << message;
  EXPECT_NE(message.find("test_device: op not supported: Erf is not Add, Mul or Relu"), std::string::npos) << message;
}

TEST(DevicePartition, KeepsIfLoopScanBodiesOnTheHost) {
  // A device EP is never given a subgraph: If's branches run on the CPU EP.
  Model m;
  m.source = "if";
  m.opset_imports[""] = 17;
  m.graph.inputs = {tensor_value("c", DataType::boolean, {}), tensor_value("x", DataType::float32, {2})};
  m.graph.outputs = {tensor_value("y", DataType::float32, {2})};
  auto branch = [](const std::string& op) {
    auto g = std::make_shared<Graph>();
    g->name = op;
    g->outputs = {tensor_value(op + "_out", DataType::float32, {2})};
    g->nodes = {node(op, op, {"x", "x"}, {op + "_out"})};
    return g;
  };
  Node if_node = node("if", "If", {"c"}, {"y"});
  if_node.attributes["then_branch"].name = "then_branch";
  if_node.attributes["then_branch"].type = Attribute::Type::graph_;
  if_node.attributes["then_branch"].g = branch("Add");
  if_node.attributes["else_branch"].name = "else_branch";
  if_node.attributes["else_branch"].type = Attribute::Type::graph_;
  if_node.attributes["else_branch"].g = branch("Mul");
  m.graph.nodes = {if_node};
  auto device = std::make_unique<TestDeviceEp>();
  TestDeviceEp& ep = *device;
  auto state = make_session(std::move(m), std::move(device));
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  auto outputs = (*state)->run({{"c", Value(Tensor::scalar(DataType::boolean, uint8_t{0}))},
                                {"x", Value(tensor_of<float>(DataType::float32, {2}, {3, -2}))}},
                               {});
  ASSERT_TRUE(outputs.is_ok()) << outputs.status().message();
  EXPECT_EQ((*outputs)[0].tensor().data<float>()[0], 9.0f);
  EXPECT_EQ((*outputs)[0].tensor().data<float>()[1], 4.0f);
  EXPECT_EQ(ep.transfer.to_device.load() + ep.transfer.to_host.load(), 0);
  EXPECT_EQ(ep.arena.allocations.load(), 0);
}

// x float [4,8] + b float [8] on the device, Erf on the CPU, Mul on the device, its product the
// graph output: five crossings whose bytes the inferred shapes fix (x 128, b 32, a 128, e 128, y 128).
Model byte_model(Dim rows) {
  Model m;
  m.source = "bytes";
  m.opset_imports[""] = 17;
  m.graph.inputs = {ValueInfo{"x", TypeInfo{TypeInfo::Kind::tensor, DataType::float32, std::vector<Dim>{rows, Dim{8, ""}}, nullptr}},
                    tensor_value("b", DataType::float32, {8})};
  m.graph.outputs = {ValueInfo{"y", TypeInfo{TypeInfo::Kind::tensor, DataType::float32, std::nullopt, nullptr}}};
  m.graph.nodes = {node("add", "Add", {"x", "b"}, {"a"}), node("erf", "Erf", {"a"}, {"e"}), node("mul", "Mul", {"e", "e"}, {"y"})};
  return m;
}

std::vector<std::pair<std::string, int64_t>> copy_bytes(const Partition& placed, bool measured) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const PlannedCopy& c : placed.copies) out.emplace_back(c.value, measured ? c.measured->load() : c.bytes);
  return out;
}

TEST(DevicePartition, ReportsEachCopysBytesFromTheInferredShapes) {
  auto state = make_session(byte_model(Dim{4, ""}), std::make_unique<TestDeviceEp>());
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  using Bytes = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_EQ(copy_bytes((*state)->placement(), false), (Bytes{{"x", 128}, {"b", 32}, {"a", 128}, {"e", 128}, {"y", 128}}));
  std::vector<float> x(32, 0.5f), b(8, 0.25f);
  auto out = (*state)->run({{"x", Value(tensor_of<float>(DataType::float32, {4, 8}, x))},
                            {"b", Value(tensor_of<float>(DataType::float32, {8}, b))}},
                           {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_NEAR((*out)[0].tensor().data<float>()[0], std::pow(std::erf(0.75f), 2.0f), 1e-6f);
  // The copy steps measured the same bytes.
  EXPECT_EQ(copy_bytes((*state)->placement(), true), (Bytes{{"x", 128}, {"b", 32}, {"a", 128}, {"e", 128}, {"y", 128}}));
}

TEST(DevicePartition, MeasuresTheBytesOfCopiesWhoseShapesAreNotKnownInAdvance) {
  auto state = make_session(byte_model(Dim{-1, "rows"}), std::make_unique<TestDeviceEp>());
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  using Bytes = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_EQ(copy_bytes((*state)->placement(), false), (Bytes{{"x", -1}, {"b", 32}, {"a", -1}, {"e", -1}, {"y", -1}}));
  EXPECT_EQ(copy_bytes((*state)->placement(), true), (Bytes{{"x", -1}, {"b", -1}, {"a", -1}, {"e", -1}, {"y", -1}}));
  auto out = (*state)->run({{"x", Value(tensor_of<float>(DataType::float32, {3, 8}, std::vector<float>(24, 1.0f)))},
                            {"b", Value(tensor_of<float>(DataType::float32, {8}, std::vector<float>(8, 0.0f)))}},
                           {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(copy_bytes((*state)->placement(), true), (Bytes{{"x", 96}, {"b", 32}, {"a", 96}, {"e", 96}, {"y", 96}}));
}

TEST(DevicePartition, StrictPlacementFailsNamingTheNodesThatWouldFallBack) {
  auto strict = make_session(byte_model(Dim{4, ""}), std::make_unique<TestDeviceEp>(), true);
  ASSERT_FALSE(strict.is_ok());
  const std::string& message = strict.status().message();
  EXPECT_NE(message.find("strict placement: 1 node would fall back to the CPU EP: node 'erf' (Erf) "
                         "(test_device: op not supported: Erf is not Add, Mul or Relu)"),
            std::string::npos)
      << message;
  // Shape computations kept on the host by design are not fallbacks: the crossing model's
  // shape Mul (claimed, kept on the host) is not named; Shape, Sigmoid and Reshape, declined, are.
  auto crossing = make_session(crossing_model(), std::make_unique<TestDeviceEp>(), true);
  ASSERT_FALSE(crossing.is_ok());
  const std::string& named = crossing.status().message();
  EXPECT_NE(named.find("3 nodes would fall back to the CPU EP: node 'shape' (Shape) (test_device: op not supported: Shape is not "
                       "Add, Mul or Relu), node 'sigmoid' (Sigmoid)"),
            std::string::npos)
      << named;
  EXPECT_EQ(named.find("shape_mul"), std::string::npos) << named;
  // Everything on the device EP: strict creation succeeds.
  Model all_device = byte_model(Dim{4, ""});
  all_device.graph.nodes[1] = node("relu", "Relu", {"a"}, {"e"});
  auto ok = make_session(std::move(all_device), std::make_unique<TestDeviceEp>(), true);
  EXPECT_TRUE(ok.is_ok()) << ok.status().message();
}

}  // namespace
}  // namespace tessera
