// Session creation's preparation step (framework/session_preparation.h): free dimension
// overrides fix symbolic input dims by name; the warm-up computes nothing, never changes what runs
// return, and a failing one does not fail the session. What the warm-up saves the first run is
// counted in run_allocations_test.cc.
#include <gtest/gtest.h>

#include <chrono>

#include "tessera/session.h"
#include "tests/unit/onnx_builder.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

using namespace test_util;

// y = Relu(x + b): x float [d0, 3], b = [-1, 0, 1].
std::string relu_add_bias() {
  pb::ModelProto m = model_proto("relu_add_bias");
  pb::GraphProto* g = m.mutable_graph();
  add_node(g, "add", "Add", {"x", "b"}, {"sum"});
  add_node(g, "relu", "Relu", {"sum"}, {"y"});
  pb::TensorProto* b = add_initializer(g, "b", kFloat, {3});
  for (float v : {-1.0f, 0.0f, 1.0f}) b->add_float_data(v);
  set_type(g->add_input(), "x", kFloat, {-1, 3});
  set_type(g->add_output(), "y", kFloat, {-1, 3});
  return m.SerializeAsString();
}

// y = Relu(x): x float [d0], y declared [4]. Inference at the declared shape agrees (d0 may be 4),
// but at the warm-up's d0 = 1 it proves y is [1], which contradicts the declaration.
std::string relu_declared_four() {
  pb::ModelProto m = model_proto("relu_declared_four");
  pb::GraphProto* g = m.mutable_graph();
  add_node(g, "relu", "Relu", {"x"}, {"y"});
  set_type(g->add_input(), "x", kFloat, {-1});
  set_type(g->add_output(), "y", kFloat, {4});
  return m.SerializeAsString();
}

// y = RandomUniformLike(x, seed 5) + x: x float [d0]; each run draws the generator's next values,
// and in a Loop's body (a subgraph) the same.
std::string seeded_random(bool in_subgraph) {
  pb::ModelProto m = model_proto("seeded_random");
  pb::GraphProto* g = m.mutable_graph();
  pb::GraphProto* body = g;
  if (in_subgraph) {
    // One iteration of Loop(max 1, cond true) whose body draws; the scan output is the draw.
    for (auto [name, value] : {std::pair{"one", int64_t{1}}}) add_initializer(g, name, kInt64, {})->add_int64_data(value);
    add_initializer(g, "yes", kBool, {})->add_int32_data(1);
    pb::NodeProto* loop = add_node(g, "loop", "Loop", {"one", "yes"}, {"drawn"});
    body = add_graph_attribute(loop, "body", "draw");
    set_type(body->add_input(), "i", kInt64, {});
    set_type(body->add_input(), "cond_in", kBool, {});
    add_node(body, "keep", "Identity", {"cond_in"}, {"cond_out"});
    set_type(body->add_output(), "cond_out", kBool, {});
  }
  pb::NodeProto* random = add_node(body, "random", "RandomUniformLike", {"x"}, {in_subgraph ? "r" : "drawn"});
  pb::AttributeProto* seed = random->add_attribute();
  seed->set_name("seed");
  seed->set_type(pb::AttributeProto::FLOAT);
  seed->set_f(5.0f);
  if (in_subgraph) set_type(body->add_output(), "r", kFloat, {-1});
  add_node(g, "add", "Add", {"drawn", "x"}, {"y"});
  set_type(g->add_input(), "x", kFloat, {-1});
  set_type(g->add_output(), "y", kFloat, in_subgraph ? std::vector<int64_t>{-1, -1} : std::vector<int64_t>{-1});
  return m.SerializeAsString();
}

Result<Session> load(const std::string& bytes, const SessionOptions& options) {
  return Session::load_from_bytes(bytes.data(), bytes.size(), options);
}

std::vector<float> values(const Value& v) {
  const Tensor& t = v.tensor();
  return std::vector<float>(t.data<float>(), t.data<float>() + t.size());
}

TEST(SessionPreparation, FreeDimensionOverridesFixTheInputShape) {
  for (bool warm_up : {false, true}) {
    SessionOptions options;
    options.free_dimension_overrides = {{"d0", 2}};
    options.warm_up = warm_up;
    auto session = load(relu_add_bias(), options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    EXPECT_EQ(session->inputs()[0].shape, (std::vector<int64_t>{2, 3}));
    auto out = session->run({{"x", Value(tensor_of(DataType::float32, {2, 3}, std::vector<float>{1, 2, 3, -4, -5, 6}))}});
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    EXPECT_EQ(values((*out)[0]), (std::vector<float>{0, 2, 4, 0, 0, 7})) << "warm_up " << warm_up;
    // The dim is fixed now: another batch is refused, naming the input and the dim.
    auto wrong = session->run({{"x", Value(zeros(DataType::float32, {4, 3}))}});
    ASSERT_FALSE(wrong.is_ok());
    EXPECT_NE(wrong.status().message().find("input 'x'"), std::string::npos) << wrong.status().message();
    EXPECT_NE(wrong.status().message().find("dimension 0 differs"), std::string::npos) << wrong.status().message();
  }
  // Without the override the same model takes any batch.
  auto dynamic = load(relu_add_bias(), SessionOptions{});
  ASSERT_TRUE(dynamic.is_ok());
  EXPECT_EQ(dynamic->inputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_TRUE(dynamic->run({{"x", Value(zeros(DataType::float32, {4, 3}))}}).is_ok());
}

TEST(SessionPreparation, AnOverrideNoInputHasOrANegativeOneIsAnError) {
  SessionOptions options;
  options.free_dimension_overrides = {{"batch", 1}};
  auto unknown = load(relu_add_bias(), options);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(unknown.status().message().find("names dim 'batch', which no input of the model has (inputs: x tensor(float)[d0,3])"),
            std::string::npos)
      << unknown.status().message();

  options.free_dimension_overrides = {{"d0", -2}};
  auto negative = load(relu_add_bias(), options);
  ASSERT_FALSE(negative.is_ok());
  EXPECT_NE(negative.status().message().find("sets dim 'd0' of input 'x' to -2"), std::string::npos)
      << negative.status().message();
}

TEST(SessionPreparation, AFailingWarmUpLeavesTheSessionUsable) {
  SessionOptions options;
  options.warm_up = true;
  auto session = load(relu_declared_four(), options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  auto out = session->run({{"x", Value(tensor_of(DataType::float32, {4}, std::vector<float>{-1, 2, -3, 4}))}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(values((*out)[0]), (std::vector<float>{0, 2, 0, 4}));
}

// A seeded generator advances with each run, so a warm-up that ran the graph would hand the first
// run the second draw: with a graph that draws random numbers, in its main graph or a subgraph,
// the first run gives what it gives with warm_up off.
TEST(SessionPreparation, TheWarmUpTakesNoRandomDraw) {
  for (bool in_subgraph : {false, true}) {
    std::vector<std::vector<float>> first_runs;
    for (bool warm_up : {false, true}) {
      SessionOptions options;
      options.warm_up = warm_up;
      auto session = load(seeded_random(in_subgraph), options);
      ASSERT_TRUE(session.is_ok()) << session.status().message();
      auto out = session->run({{"x", Value(zeros(DataType::float32, {1}))}});
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      first_runs.push_back(values((*out)[0]));
      auto second = session->run({{"x", Value(zeros(DataType::float32, {1}))}});
      ASSERT_TRUE(second.is_ok()) << second.status().message();
      // The control: runs draw anew, so a warm-up run would have changed the first run.
      EXPECT_NE(values((*second)[0]), first_runs.back()) << "in_subgraph " << in_subgraph;
    }
    EXPECT_EQ(first_runs[0], first_runs[1]) << "in_subgraph " << in_subgraph;
  }
}

// A Loop of 2^62 trips (tests/data/bad_inputs/long_loop.onnx, no inputs): the warm-up computes
// nothing, so it does not hold session creation (a warm-up that ran the graph needed a deadline),
// and the session's runs still stop at their own deadlines.
TEST(SessionPreparation, AWarmUpDoesNotRunTheGraph) {
  const auto start = std::chrono::steady_clock::now();
  auto session = Session::load(TESSERA_SOURCE_DIR "/tests/data/bad_inputs/long_loop.onnx", SessionOptions{});
  const double took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  EXPECT_LT(took_ms, 1000) << "session creation ran the loop";
  RunOptions options;
  options.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  auto out = session->run({}, {}, options);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::deadline_exceeded) << out.status().message();
}

}  // namespace
}  // namespace tessera
