// Plugin EPs through the public API: the example plugin (examples/ep_plugin) takes its
// elementwise ops, the CPU EP the rest, copies sit at the crossings and the numbers equal the CPU
// EP's; a bad name, library or ABI version is a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "onnx.pb.h"
#include "tessera/session.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

namespace pb = tessera::onnx;

// o = Mul(Exp(Sigmoid(Relu(x + y))), x), x and y float [2,3]: Exp is the CPU EP's.
std::string mixed_model() {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("mixed");
  auto add_node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = graph->add_node();
    n->set_name(out + "_node");
    n->set_op_type(op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
  };
  add_node("Add", {"x", "y"}, "a");
  add_node("Relu", {"a"}, "r");
  add_node("Sigmoid", {"r"}, "s");
  add_node("Exp", {"s"}, "e");
  add_node("Mul", {"e", "x"}, "o");
  for (const char* name : {"x", "y", "o"}) {
    auto* info = std::string(name) == "o" ? graph->add_output() : graph->add_input();
    info->set_name(name);
    auto* t = info->mutable_type()->mutable_tensor_type();
    t->set_elem_type(1);
    t->mutable_shape()->add_dim()->set_dim_value(2);
    t->mutable_shape()->add_dim()->set_dim_value(3);
  }
  return model.SerializeAsString();
}

SessionOptions with_plugin(const std::string& name = "example_elementwise", const std::string& path = TESSERA_EXAMPLE_EP) {
  SessionOptions options;
  options.providers = {{name, path}, {"cpu", ""}};
  return options;
}

Result<std::vector<Value>> run(const Session& session) {
  const std::vector<float> x = {-1, 0.5f, 2, -3, 1, 0.25f}, y = {0.5f, 0.5f, -1, 1, 1, 1};
  return session.run({{"x", Value(tensor_of<float>(DataType::float32, {2, 3}, x))},
                      {"y", Value(tensor_of<float>(DataType::float32, {2, 3}, y))}});
}

TEST(PluginEp, TakesItsOpsAndGivesTheCpuEpsNumbers) {
  const std::string bytes = mixed_model();
  auto plugin = Session::load_from_bytes(bytes.data(), bytes.size(), with_plugin());
  ASSERT_TRUE(plugin.is_ok()) << plugin.status().message();
  auto cpu = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(cpu.is_ok()) << cpu.status().message();

  const Placement placement = plugin->placement();
  ASSERT_EQ(placement.nodes_per_provider.size(), 2u);
  EXPECT_EQ(placement.nodes_per_provider[0].provider, "example_elementwise");
  EXPECT_EQ(placement.nodes_per_provider[0].nodes, 4u);
  EXPECT_EQ(placement.nodes_per_provider[1].provider, "CPU");
  EXPECT_EQ(placement.nodes_per_provider[1].nodes, 1u);
  ASSERT_EQ(placement.subgraphs.size(), 3u);
  EXPECT_EQ(placement.subgraphs[0].nodes, (std::vector<std::string>{"a_node", "r_node", "s_node"}));
  EXPECT_EQ(placement.subgraphs[1].provider, "CPU");
  EXPECT_EQ(placement.subgraphs[2].nodes, (std::vector<std::string>{"o_node"}));
  std::vector<std::string> copies;
  for (const auto& c : placement.copies) copies.push_back(c.value + ":" + c.from + "->" + c.to);
  EXPECT_EQ(copies, (std::vector<std::string>{"x:cpu:0->other:0", "y:cpu:0->other:0", "s:other:0->cpu:0",
                                              "e:cpu:0->other:0", "o:other:0->cpu:0"}));
  ASSERT_EQ(placement.fallbacks.size(), 1u);
  EXPECT_EQ(placement.fallbacks[0].node, "e_node");
  EXPECT_EQ(placement.fallbacks[0].reason, "op not supported: Exp is not one of Add, Mul, Relu, Sigmoid");

  for (int round = 0; round < 2; ++round) {  // the second run reuses the plugin's kernels
    auto got = run(*plugin);
    ASSERT_TRUE(got.is_ok()) << got.status().message();
    auto want = run(*cpu);
    ASSERT_TRUE(want.is_ok()) << want.status().message();
    const Tensor& o = (*got)[0].tensor();
    EXPECT_TRUE(o.location().is_host());
    ASSERT_EQ(o.shape(), (Shape{2, 3}));
    for (int64_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(o.data<float>()[i], (*want)[0].tensor().data<float>()[i]) << i;
  }
}

TEST(PluginEp, BroadcastsAddAndMul) {
  // y = x * b + x with b: float [3] broadcast over x: float [2,3], all on the plugin.
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  auto* mul = graph->add_node();
  mul->set_op_type("Mul");
  mul->add_input("x");
  mul->add_input("b");
  mul->add_output("m");
  auto* add = graph->add_node();
  add->set_op_type("Add");
  add->add_input("m");
  add->add_input("x");
  add->add_output("y");
  auto* b = graph->add_initializer();
  b->set_name("b");
  b->set_data_type(1);
  b->add_dims(3);
  for (float v : {2.0f, -1.0f, 0.5f}) b->add_float_data(v);
  for (const char* name : {"x", "y"}) {
    auto* info = std::string(name) == "y" ? graph->add_output() : graph->add_input();
    info->set_name(name);
    info->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  }
  const std::string bytes = model.SerializeAsString();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size(), with_plugin());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  EXPECT_EQ(session->placement().subgraphs.size(), 1u);
  auto got = session->run({{"x", Value(tensor_of<float>(DataType::float32, {2, 3}, {1, 2, 3, 4, 5, 6}))}});
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  const Tensor& y = (*got)[0].tensor();
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 6), (std::vector<float>{3, 0, 4.5f, 12, 0, 9}));
}

TEST(PluginEp, RefusesUnknownNamesMissingLibrariesWrongAbiAndWrongNames) {
  const std::string bytes = mixed_model();
  auto message = [&](const SessionOptions& options) {
    auto s = Session::load_from_bytes(bytes.data(), bytes.size(), options);
    return s.is_ok() ? std::string("loaded") : s.status().message();
  };
  SessionOptions unknown;
  unknown.providers = {{"nosuch", ""}, {"cpu", ""}};
  EXPECT_NE(message(unknown).find("unknown execution provider 'nosuch'"), std::string::npos) << message(unknown);
  const std::string missing = message(with_plugin("example_elementwise", "/nonexistent/libnothing.so"));
  EXPECT_NE(missing.find("execution provider 'example_elementwise' (library '/nonexistent/libnothing.so'): cannot load"),
            std::string::npos)
      << missing;
  const std::string abi = message(with_plugin("wrong_abi", TESSERA_WRONG_ABI_EP));
  EXPECT_NE(abi.find("plugin ABI version 3, Tessera needs 2"), std::string::npos) << abi;
  const std::string renamed = message(with_plugin("other_name"));
  EXPECT_NE(renamed.find("the library is the EP 'example_elementwise', not 'other_name'"), std::string::npos) << renamed;
}

// Gemm(a, W, C) with constant W and C, AveragePool with string and ints attributes, and a
// Constant with a tensor attribute: the probe plugin declines each, saying what it saw.
std::string attribute_model() {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("attributes");
  auto* gemm = graph->add_node();
  gemm->set_name("gemm");
  gemm->set_op_type("Gemm");
  for (const char* in : {"a", "w", "c"}) gemm->add_input(in);
  gemm->add_output("g");
  auto* alpha = gemm->add_attribute();
  alpha->set_name("alpha"), alpha->set_type(pb::AttributeProto::FLOAT), alpha->set_f(0.5f);
  auto* trans = gemm->add_attribute();
  trans->set_name("transB"), trans->set_type(pb::AttributeProto::INT), trans->set_i(1);
  auto add_initializer = [&](const std::string& name, std::vector<int64_t> dims, std::vector<float> values) {
    auto* t = graph->add_initializer();
    t->set_name(name), t->set_data_type(1);
    for (auto d : dims) t->add_dims(d);
    for (auto v : values) t->add_float_data(v);
  };
  add_initializer("w", {2, 3}, {1, 2, 3, 4, 5, 6});
  add_initializer("c", {2}, {0.25f, 0.75f});
  auto* pool = graph->add_node();
  pool->set_name("pool");
  pool->set_op_type("AveragePool");
  pool->add_input("x");
  pool->add_output("p");
  auto* pad = pool->add_attribute();
  pad->set_name("auto_pad"), pad->set_type(pb::AttributeProto::STRING), pad->set_s("SAME_UPPER");
  auto* kernel = pool->add_attribute();
  kernel->set_name("kernel_shape"), kernel->set_type(pb::AttributeProto::INTS), kernel->add_ints(2), kernel->add_ints(2);
  auto* constant = graph->add_node();
  constant->set_name("constant");
  constant->set_op_type("Constant");
  constant->add_output("k");
  auto* value = constant->add_attribute();
  value->set_name("value"), value->set_type(pb::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(7), value->mutable_t()->add_dims(2), value->mutable_t()->add_int64_data(7);
  value->mutable_t()->add_int64_data(9);
  auto add_value = [&](bool input, const std::string& name, int type, std::vector<int64_t> dims) {
    auto* info = input ? graph->add_input() : graph->add_output();
    info->set_name(name);
    info->mutable_type()->mutable_tensor_type()->set_elem_type(type);
    for (auto d : dims) info->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_value(true, "a", 1, {1, 3});
  add_value(true, "x", 1, {1, 1, 4, 4});
  add_value(false, "g", 1, {1, 2});
  add_value(false, "p", 1, {1, 1, 4, 4});
  add_value(false, "k", 7, {2});
  return model.SerializeAsString();
}

TEST(PluginEp, SeesAttributesAndConstantInputsWithTheirShapesAndDtypes) {
  const std::string bytes = attribute_model();
  SessionOptions options = with_plugin("probe", TESSERA_PROBE_EP);
  options.optimization_level = OptimizationLevel::disabled;  // the nodes as written
  auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  std::map<std::string, std::string> seen;
  for (const auto& f : session->placement().fallbacks) seen[f.node] = f.reason;
  EXPECT_EQ(seen["gemm"], "op not supported: alpha=0.50 transB=1 in0:1[1,3] in1:1[2,3]{1.00,2.00,3.00,4.00,5.00,6.00} in2:1[2]{0.25,0.75} ");
  EXPECT_EQ(seen["pool"], "op not supported: auto_pad=SAME_UPPER kernel_shape=2,2 in0:1[1,1,4,4] ");
  EXPECT_EQ(seen["constant"], "op not supported: value=tensor7[2]{7,9} ");
}

}  // namespace
}  // namespace tessera
