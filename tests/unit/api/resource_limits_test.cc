// ResourceLimits end to end (docs/security.md): each limit, crossed by a small crafted model or
// run, fails with a message naming the limit's field, and a session that failed a run still runs
// a normal input afterwards.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/session.h"
#include "tests/unit/onnx_builder.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

using namespace tessera::test_util;

Result<Session> load(const pb::ModelProto& m, const SessionOptions& options = {}) {
  const std::string bytes = m.SerializeAsString();
  return Session::load_from_bytes(bytes.data(), bytes.size(), options);
}

// Fails unless `status` is an error whose message names `field` (e.g. "max_nodes").
void expect_names_limit(const Status& status, const std::string& field) {
  ASSERT_FALSE(status.is_ok()) << "expected the limit " << field << " to be crossed";
  EXPECT_NE(status.message().find("limits." + field), std::string::npos) << status.message();
}

TEST(ResourceLimits, ModelFileOverMaxModelBytes) {
  const std::string path = TESSERA_SOURCE_DIR "/tests/data/bad_inputs/add.onnx";
  SessionOptions options;
  options.limits.max_model_bytes = 16;
  expect_names_limit(Session::load(path, options).status(), "max_model_bytes");
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  const std::string data = bytes.str();
  expect_names_limit(Session::load_from_bytes(data.data(), data.size(), options).status(), "max_model_bytes");
  options.limits.max_model_bytes = data.size();
  EXPECT_TRUE(Session::load(path, options).is_ok());
}

// y = x + w with w declared as `dims` (and `values` floats of data).
pb::ModelProto initializer_model(const std::vector<int64_t>& dims, size_t values) {
  pb::ModelProto m = model_proto("big_weight");
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "x", kFloat, {});
  set_type(g->add_output(), "y", kFloat, std::vector<int64_t>(dims.size(), -1));
  auto* w = add_initializer(g, "w", kFloat, dims);
  for (size_t i = 0; i < values; ++i) w->add_float_data(1.0f);
  add_node(g, "add", "Add", {"x", "w"}, {"y"});
  return m;
}

TEST(ResourceLimits, HugeDeclaredInitializerIsRefusedBeforeAllocation) {
  // 2^60 floats declared in a few bytes: refused by the default element limit, nothing allocated.
  auto session = load(initializer_model({int64_t{1} << 30, int64_t{1} << 30}, 0));
  expect_names_limit(session.status(), "max_tensor_elements");
  EXPECT_NE(session.status().message().find("initializer tensor 'w'"), std::string::npos) << session.status().message();
  // A real 2 KiB weight over a lowered byte limit.
  SessionOptions options;
  options.limits.max_tensor_bytes = 1024;
  expect_names_limit(load(initializer_model({16, 32}, 512), options).status(), "max_tensor_bytes");
  options.limits.max_tensor_bytes = 2048;
  EXPECT_TRUE(load(initializer_model({16, 32}, 512), options).is_ok());
}

// F0 calls F1 twice, ..., F(levels-1) is one Relu: 2^(levels-1) nodes once inlined.
pb::ModelProto fan_out_model(int levels) {
  pb::ModelProto m = model_proto("fan_out");
  auto* local = m.add_opset_import();
  local->set_domain("local");
  local->set_version(1);
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "x", kFloat, {4});
  set_type(g->add_output(), "y", kFloat, {4});
  add_node(g, "call", "F0", {"x"}, {"y"})->set_domain("local");
  for (int level = 0; level < levels; ++level) {
    auto* f = m.add_functions();
    f->set_name("F" + std::to_string(level));
    f->set_domain("local");
    f->add_input("a");
    f->add_output("b");
    auto* onnx_import = f->add_opset_import();
    onnx_import->set_version(17);
    auto* local_import = f->add_opset_import();
    local_import->set_domain("local");
    local_import->set_version(1);
    auto add = [&](const std::string& name, const std::string& op, const std::string& in, const std::string& out) {
      auto* n = f->add_node();
      n->set_name(name);
      n->set_op_type(op);
      n->add_input(in);
      n->add_output(out);
      if (op != "Relu") n->set_domain("local");
    };
    if (level == levels - 1) {
      add("r", "Relu", "a", "b");
    } else {
      add("first", "F" + std::to_string(level + 1), "a", "t");
      add("second", "F" + std::to_string(level + 1), "t", "b");
    }
  }
  return m;
}

TEST(ResourceLimits, FunctionFanOutPastMaxNodes) {
  // 2^24 nodes once inlined, from a model of a few hundred bytes.
  expect_names_limit(load(fan_out_model(25)).status(), "max_nodes");
  SessionOptions options;
  options.limits.max_nodes = 7;
  expect_names_limit(load(fan_out_model(4), options).status(), "max_nodes");  // 8 nodes
  options.limits.max_nodes = 8;
  auto session = load(fan_out_model(4), options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto out = session->run({{"x", Value(tensor_of(DataType::float32, {4}, std::vector<float>{-1, 2, -3, 4}))}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0].tensor().data<float>()[3], 4.0f);
}

// If(c) nested `depth` deep in then-branches; the innermost then-branch and every else-branch
// return x (captured from the main graph).
pb::ModelProto nested_if_model(int depth) {
  pb::ModelProto m = model_proto("nested_if");
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "c", kBool, {});
  set_type(g->add_input(), "x", kFloat, {2});
  set_type(g->add_output(), "y0", kFloat, {2});
  pb::GraphProto* scope = g;
  for (int level = 0; level < depth; ++level) {
    const std::string out = "y" + std::to_string(level);
    auto* node = add_node(scope, "if" + std::to_string(level), "If", {"c"}, {out});
    auto* otherwise = add_graph_attribute(node, "else_branch", "else" + std::to_string(level));
    add_node(otherwise, "copy", "Identity", {"x"}, {"e" + std::to_string(level)});
    set_type(otherwise->add_output(), "e" + std::to_string(level), kFloat, {2});
    auto* then = add_graph_attribute(node, "then_branch", "then" + std::to_string(level));
    const std::string inner = "y" + std::to_string(level + 1);
    set_type(then->add_output(), inner, kFloat, {2});
    if (level == depth - 1) add_node(then, "copy", "Identity", {"x"}, {inner});
    scope = then;
  }
  return m;
}

TEST(ResourceLimits, DeepIfNestingPastMaxNestingDepth) {
  SessionOptions options;
  options.limits.max_nesting_depth = 4;
  expect_names_limit(load(nested_if_model(6), options).status(), "max_nesting_depth");
  auto session = load(nested_if_model(4), options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto out = session->run({{"c", Value(Tensor::scalar<bool>(DataType::boolean, true))},
                           {"x", Value(tensor_of(DataType::float32, {2}, std::vector<float>{5, 6}))}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0].tensor().data<float>()[1], 6.0f);
}

TEST(ResourceLimits, ProtobufNestingPastMaxProtobufDepth) {
  // Each If level nests three messages (graph, node, attribute): 40 levels pass protobuf's 100
  // before the loader sees a graph.
  auto status = load(nested_if_model(40)).status();
  expect_names_limit(status, "max_protobuf_depth");
  SessionOptions options;
  options.limits.max_protobuf_depth = 20;
  expect_names_limit(load(nested_if_model(8), options).status(), "max_protobuf_depth");
}

// y = Expand(x, shape): a tiny model whose output size the feed decides.
Result<Session> expand_session(const SessionOptions& options) {
  pb::ModelProto m = model_proto("expand");
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "x", kFloat, {1});
  set_type(g->add_input(), "shape", kInt64, {2});
  set_type(g->add_output(), "y", kFloat, {-1, -1});
  add_node(g, "expand", "Expand", {"x", "shape"}, {"y"});
  return load(m, options);
}

Feeds expand_feeds(int64_t rows, int64_t cols) {
  return {{"x", Value(tensor_of(DataType::float32, {1}, std::vector<float>{3}))},
          {"shape", Value(tensor_of(DataType::int64, {2}, std::vector<int64_t>{rows, cols}))}};
}

TEST(ResourceLimits, IntermediateOverMaxTensorBytesFailsTheRunOnly) {
  SessionOptions options;
  options.limits.max_tensor_bytes = 1 << 20;
  auto session = expand_session(options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto failed = session->run(expand_feeds(1024, 1024));  // 4 MiB
  expect_names_limit(failed.status(), "max_tensor_bytes");
  EXPECT_NE(failed.status().message().find("node 'expand' (Expand)"), std::string::npos) << failed.status().message();
  // 2^40 elements with the default limits: refused, never allocated.
  auto absurd = expand_session({});
  ASSERT_TRUE(absurd.is_ok());
  expect_names_limit(absurd->run(expand_feeds(int64_t{1} << 20, int64_t{1} << 20)).status(), "max_tensor_elements");
  // The session runs on.
  auto out = session->run(expand_feeds(2, 3));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  const Tensor& y = (*out)[0].tensor();
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(y.data<float>()[5], 3.0f);
}

TEST(ResourceLimits, RunArenaOverMaxRunArenaBytes) {
  // a = x + x, b = a + x, y = Concat(a, b): a run of n floats holds 16n bytes at its peak.
  pb::ModelProto m = model_proto("arena");
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "x", kFloat, {-1});
  set_type(g->add_output(), "y", kFloat, {-1});
  add_node(g, "a", "Add", {"x", "x"}, {"a"});
  add_node(g, "b", "Add", {"a", "x"}, {"b"});
  auto* concat = add_node(g, "concat", "Concat", {"a", "b"}, {"y"});
  auto* axis = concat->add_attribute();
  axis->set_name("axis");
  axis->set_type(pb::AttributeProto::INT);
  axis->set_i(0);
  SessionOptions options;
  options.optimization_level = OptimizationLevel::disabled;
  options.limits.max_run_arena_bytes = 40 << 10;
  auto session = load(m, options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto feed = [](int64_t n) { return Feeds{{"x", Value(tensor_of(DataType::float32, {n}, std::vector<float>(n, 1.0f)))}}; };
  expect_names_limit(session->run(feed(4096)).status(), "max_run_arena_bytes");  // 64 KiB at the peak
  for (int i = 0; i < 3; ++i) {  // the failed run gave its bytes back: smaller runs fit, again and again
    auto out = session->run(feed(1024));  // 16 KiB
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    EXPECT_EQ((*out)[0].tensor().data<float>()[2047], 3.0f);
  }
  // Outputs kept from earlier runs count against their own runs' budgets, never a later run's
  // (a run's budget is reused only once no tensor holds it): 5 kept outputs hold 40 KiB.
  std::vector<std::vector<Value>> kept;
  for (int i = 0; i < 6; ++i) {
    auto out = session->run(feed(1024));
    ASSERT_TRUE(out.is_ok()) << "with " << i << " earlier outputs kept: " << out.status().message();
    kept.push_back(std::move(*out));
  }
}

// y = Loop(trips, true, y0 = 0) { y += x }.
pb::ModelProto loop_model() {
  pb::ModelProto m = model_proto("loop");
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "trips", kInt64, {});
  set_type(g->add_input(), "x", kFloat, {1});
  set_type(g->add_output(), "y", kFloat, {1});
  add_initializer(g, "cond", kBool, {})->add_int32_data(1);
  add_initializer(g, "y0", kFloat, {1})->add_float_data(0);
  auto* body = add_graph_attribute(add_node(g, "loop", "Loop", {"trips", "cond", "y0"}, {"y"}), "body", "body");
  set_type(body->add_input(), "iter", kInt64, {});
  set_type(body->add_input(), "cond_in", kBool, {});
  set_type(body->add_input(), "y_in", kFloat, {1});
  add_node(body, "add", "Add", {"y_in", "x"}, {"y_out"});
  add_node(body, "keep_going", "Identity", {"cond_in"}, {"cond_out"});
  set_type(body->add_output(), "cond_out", kBool, {});
  set_type(body->add_output(), "y_out", kFloat, {1});
  return m;
}

TEST(ResourceLimits, LoopPastMaxLoopIterations) {
  SessionOptions options;
  options.limits.max_loop_iterations = 100;
  auto session = load(loop_model(), options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto feeds = [](int64_t trips) {
    return Feeds{{"trips", Value(Tensor::scalar<int64_t>(DataType::int64, trips))},
                 {"x", Value(tensor_of(DataType::float32, {1}, std::vector<float>{1}))}};
  };
  auto failed = session->run(feeds(101));
  expect_names_limit(failed.status(), "max_loop_iterations");
  EXPECT_NE(failed.status().message().find("node 'loop' (Loop)"), std::string::npos) << failed.status().message();
  auto out = session->run(feeds(100));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0].tensor().data<float>()[0], 100.0f);
}

}  // namespace
}  // namespace tessera
