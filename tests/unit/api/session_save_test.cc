// SessionOptions::optimized_model_path: the session saves the graph it runs, and that file loads
// and runs with the same outputs (a fused graph too, with its com.tessera import); Session::node_counts
// describes the same graph.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "model/model_loader.h"
#include "onnx.pb.h"
#include "tessera/session.h"
#include "tests/unit/test_tensors.h"
#include "tests/unit/temp_dir.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
namespace pb = tessera::onnx;

void float_info(pb::ValueInfoProto* info, const std::string& name) {
  info->set_name(name);
  auto* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(1);
  t->mutable_shape()->add_dim()->set_dim_param("n");
}

pb::NodeProto* add_node(google::protobuf::RepeatedPtrField<pb::NodeProto>* nodes, const std::string& op,
                        std::vector<std::string> in, std::vector<std::string> out, const std::string& domain = "") {
  auto* n = nodes->Add();
  n->set_op_type(op);
  n->set_domain(domain);
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

// y = Relu(AddTwice(x, w)) where AddTwice is a model-local function (x + w + w), w = [1, 2, 3].
std::string model_with_function() {
  pb::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("session-save-test");
  auto* op = m.add_opset_import();
  op->set_version(17);
  auto* local = m.add_opset_import();
  local->set_domain("local");
  local->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("g");
  float_info(g->add_input(), "x");
  float_info(g->add_output(), "y");
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  w->add_dims(3);
  for (float v : {1.f, 2.f, 3.f}) w->add_float_data(v);
  add_node(g->mutable_node(), "AddTwice", {"x", "w"}, {"s"}, "local");
  add_node(g->mutable_node(), "Relu", {"s"}, {"y"});
  auto* f = m.add_functions();
  f->set_name("AddTwice");
  f->set_domain("local");
  f->add_input("a");
  f->add_input("b");
  f->add_output("c");
  f->add_opset_import()->set_version(17);
  add_node(f->mutable_node(), "Add", {"a", "b"}, {"t"});
  add_node(f->mutable_node(), "Add", {"t", "b"}, {"c"});
  return m.SerializeAsString();
}

std::vector<float> run(const Session& s, std::vector<float> x) {
  auto out = s.run({{"x", Value(tensor_of<float>(DataType::float32, {3}, x))}});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  if (!out.is_ok()) return {};
  const Tensor& t = (*out)[0].tensor();
  return std::vector<float>(t.data<float>(), t.data<float>() + t.size());
}

TEST(SessionSave, SavesTheGraphItRunsAndItRunsTheSame) {
  TempDir dir("tessera_session_save");
  const std::string bytes = model_with_function();
  const std::string path = dir.path() + "/optimized.onnx";
  for (OptimizationLevel level : {OptimizationLevel::disabled, OptimizationLevel::basic, OptimizationLevel::all}) {
    SessionOptions options;
    options.optimization_level = level;
    options.optimized_model_path = path;
    auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    EXPECT_EQ(run(*session, {-10, 0, 1}), (std::vector<float>{0, 4, 7}));

    auto saved = load_model_file(path);
    ASSERT_TRUE(saved.is_ok()) << saved.status().message();
    // The graph as run: the function call is inlined into primitive ops.
    for (const Node& node : saved->graph.nodes) EXPECT_NE(node.op_type, "AddTwice");
    EXPECT_EQ(saved->opset_imports, (std::map<std::string, int64_t>{{"", 17}, {"local", 1}}));
    EXPECT_EQ(saved->producer_name, "session-save-test");
    const NodeCounts counts = session->node_counts();
    EXPECT_EQ(counts.nodes, saved->graph.nodes.size());
    EXPECT_EQ(counts.by_op, count_ops(saved->graph));
    EXPECT_EQ(counts.by_op.count("local.AddTwice"), 0u);

    auto reloaded = Session::load(path);
    ASSERT_TRUE(reloaded.is_ok()) << reloaded.status().message();
    EXPECT_EQ(run(*reloaded, {-10, 0, 1}), (std::vector<float>{0, 4, 7}));
  }
}

// y = Relu(Conv(x, w, b)): x [1,1,3,3], w [1,1,2,2], b [1]; the extended level fuses it.
std::string conv_relu_model() {
  pb::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("conv_relu");
  auto io = [](pb::ValueInfoProto* info, const std::string& name, std::vector<int64_t> dims) {
    info->set_name(name);
    auto* t = info->mutable_type()->mutable_tensor_type();
    t->set_elem_type(1);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  io(g->add_input(), "x", {1, 1, 3, 3});
  io(g->add_output(), "y", {1, 1, 2, 2});
  auto init = [&](const std::string& name, std::vector<int64_t> dims, std::vector<float> values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(1);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  };
  init("w", {1, 1, 2, 2}, {3, -1, 0.5f, -1});
  init("b", {1}, {0});
  add_node(g->mutable_node(), "Conv", {"x", "w", "b"}, {"c"});
  add_node(g->mutable_node(), "Relu", {"c"}, {"y"});
  return m.SerializeAsString();
}

TEST(SessionSave, AFusedModelKeepsItsDomainAndReloadsWithTheSameOutputs) {
  TempDir dir("tessera_session_save");
  const std::string bytes = conv_relu_model();
  const std::string path = dir.path() + "/fused.onnx";
  SessionOptions options;
  options.optimization_level = OptimizationLevel::extended;
  options.optimized_model_path = path;
  auto fused = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  ASSERT_TRUE(fused.is_ok()) << fused.status().message();
  const NodeCounts counts = fused->node_counts();
  EXPECT_EQ(counts.nodes, 1u);
  EXPECT_EQ(counts.by_op, (std::map<std::string, size_t>{{"com.tessera.FusedConv", 1}}));
  // The report names every pass of the level; here exactly one fusion rewrote the graph.
  std::map<std::string, int> rewrites;
  for (const OptimizationPass& pass : fused->optimization_report()) rewrites[pass.name] = pass.rewrites;
  EXPECT_EQ(rewrites.at("conv_activation_fusion"), 1);
  EXPECT_EQ(rewrites.at("batchnorm_into_conv"), 0);
  EXPECT_TRUE(rewrites.count("constant_folding"));
  EXPECT_FALSE(rewrites.count("nothing_like_this"));

  auto saved = load_model_file(path);
  ASSERT_TRUE(saved.is_ok()) << saved.status().message();
  EXPECT_EQ(saved->opset_imports, (std::map<std::string, int64_t>{{"", 17}, {"com.tessera", 1}}));
  ASSERT_EQ(saved->graph.nodes.size(), 1u);
  EXPECT_EQ(saved->graph.nodes[0].attributes.at("activation").s, "Relu");

  SessionOptions plain;
  plain.optimization_level = OptimizationLevel::disabled;
  auto original = Session::load_from_bytes(bytes.data(), bytes.size(), plain);
  auto reloaded = Session::load(path, plain);
  ASSERT_TRUE(original.is_ok() && reloaded.is_ok()) << reloaded.status().message();
  const Feeds feeds = {{"x", Value(tensor_of<float>(DataType::float32, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}))}};
  auto want = original->run(feeds);
  auto got = reloaded->run(feeds);
  ASSERT_TRUE(want.is_ok() && got.is_ok());
  const Tensor& w = (*want)[0].tensor();
  const Tensor& g = (*got)[0].tensor();
  // Conv gives -2, -0.5, 2.5, 4 (x = 1..9 row-major); Relu clears the first two.
  EXPECT_EQ(std::vector<float>(w.data<float>(), w.data<float>() + w.size()), (std::vector<float>{0, 0, 2.5f, 4}));
  EXPECT_EQ(std::vector<float>(g.data<float>(), g.data<float>() + g.size()), (std::vector<float>{0, 0, 2.5f, 4}));
}

TEST(SessionSave, AnUnwritablePathFailsTheSessionWithTheReason) {
  const std::string bytes = model_with_function();
  SessionOptions options;
  options.optimized_model_path = "/no/such/folder/out.onnx";
  auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  ASSERT_FALSE(session.is_ok());
  EXPECT_EQ(session.status().code(), StatusCode::io_error);
  EXPECT_EQ(session.status().message(),
            "model '<bytes>': saving to '/no/such/folder/out.onnx': cannot create '/no/such/folder/out.onnx.tmp': No "
            "such file or directory");
}

}  // namespace
}  // namespace tessera
