// RunOptions end to end: a terminate flag set from another thread stops a long Loop, a deadline
// in the past stops before the first kernel, one far away changes nothing, and a session runs
// normally after a stopped run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tessera/session.h"
#include "tests/unit/onnx_builder.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

using namespace tessera::test_util;
using Clock = std::chrono::steady_clock;

// y = Loop(trips, true, y0 = [0, 0]) { y_out = y_in + x (outer) }: y = trips * x, one Add per
// iteration, so `trips` sets how long a run takes. The Loop is the main graph's only node.
std::string loop_model() {
  constexpr int kFloat = 1, kInt64 = 7, kBool = 9;
  pb::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("long_loop");
  set_type(g->add_input(), "trips", kInt64, {});
  set_type(g->add_input(), "x", kFloat, {2});
  set_type(g->add_output(), "y", kFloat, {2});
  auto* cond = g->add_initializer();
  cond->set_name("cond");
  cond->set_data_type(kBool);
  cond->add_int32_data(1);
  auto* y0 = g->add_initializer();
  y0->set_name("y0");
  y0->set_data_type(kFloat);
  y0->add_dims(2);
  for (float v : {0.f, 0.f}) y0->add_float_data(v);

  auto* attr = add_node(g, "loop", "Loop", {"trips", "cond", "y0"}, {"y"})->add_attribute();
  attr->set_name("body");
  attr->set_type(pb::AttributeProto::GRAPH);
  auto* body = attr->mutable_g();
  body->set_name("body");
  set_type(body->add_input(), "iter", kInt64, {});
  set_type(body->add_input(), "cond_in", kBool, {});
  set_type(body->add_input(), "y_in", kFloat, {2});
  add_node(body, "add", "Add", {"y_in", "x"}, {"y_out"});
  add_node(body, "keep_going", "Identity", {"cond_in"}, {"cond_out"});
  set_type(body->add_output(), "cond_out", kBool, {});
  set_type(body->add_output(), "y_out", kFloat, {2});
  return m.SerializeAsString();
}

Session load_loop() {
  const std::string bytes = loop_model();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  EXPECT_TRUE(session.is_ok()) << session.status().message();
  return std::move(session).value();
}

Feeds feeds(int64_t trips) {
  return {{"trips", Value(Tensor::scalar<int64_t>(DataType::int64, trips))},
          {"x", Value(tensor_of(DataType::float32, {2}, std::vector<float>{1, 2}))}};
}

// Runs `trips` iterations without options and checks y = trips * [1, 2].
void expect_plain_run(const Session& session, int64_t trips) {
  auto out = session.run(feeds(trips));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  const Tensor& y = (*out)[0].tensor();
  ASSERT_EQ(y.size(), 2);
  EXPECT_EQ(y.data<float>()[0], static_cast<float>(trips));
  EXPECT_EQ(y.data<float>()[1], static_cast<float>(2 * trips));
}

constexpr int64_t kForever = int64_t{1} << 40;  // years of iterations

TEST(RunOptions, TerminateFromAnotherThreadStopsALongLoop) {
  Session session = load_loop();
  RunOptions options;
  options.terminate = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([flag = options.terminate] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    flag->store(true);
  });
  const auto start = Clock::now();
  auto out = session.run(feeds(kForever), {}, options);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  canceller.join();

  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::cancelled);
  const std::string& message = out.status().message();
  EXPECT_EQ(message.rfind("model '<bytes>': run cancelled (its terminate flag was set) before ", 0), 0u) << message;
  // Stopped inside the Loop: before a body node or before an iteration, "... of node 'loop' (Loop)".
  EXPECT_NE(message.find("subgraph 'body' of node 'loop' (Loop)"), std::string::npos) << message;
  EXPECT_LT(seconds, 5.0);  // 2^40 iterations would take hours

  // Nothing is left behind: the same session runs normally, with and without the options.
  expect_plain_run(session, 1000);
  options.terminate->store(false);
  auto again = session.run(feeds(10), {}, options);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ((*again)[0].tensor().data<float>()[1], 20.f);
}

TEST(RunOptions, FlagSetBeforeTheRunStopsBeforeTheFirstKernel) {
  Session session = load_loop();
  RunOptions options;
  options.terminate = std::make_shared<std::atomic<bool>>(true);
  auto out = session.run(feeds(kForever), {}, options);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::cancelled);
  EXPECT_EQ(out.status().message(), "model '<bytes>': run cancelled (its terminate flag was set) before node 'loop' (Loop)");
}

TEST(RunOptions, DeadlineInThePastStopsBeforeTheFirstKernel) {
  Session session = load_loop();
  RunOptions options;
  options.deadline = Clock::now() - std::chrono::seconds(1);
  auto out = session.run(feeds(kForever), {}, options);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::deadline_exceeded);
  EXPECT_EQ(out.status().message(), "model '<bytes>': run passed its deadline; stopped before node 'loop' (Loop)");
  expect_plain_run(session, 3);
}

TEST(RunOptions, DeadlineStopsALongLoopInsideItsBody) {
  Session session = load_loop();
  const auto start = Clock::now();
  auto out = session.run(feeds(kForever), {}, RunOptions::with_timeout(std::chrono::milliseconds(30)));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::deadline_exceeded);
  EXPECT_NE(out.status().message().find("subgraph 'body' of node 'loop' (Loop)"), std::string::npos)
      << out.status().message();
  EXPECT_GE(seconds, 0.03);
  EXPECT_LT(seconds, 5.0);
  expect_plain_run(session, 7);
}

TEST(RunOptions, FarDeadlineAndUnsetFlagChangeNothing) {
  Session session = load_loop();
  RunOptions options;
  options.terminate = std::make_shared<std::atomic<bool>>(false);
  options.deadline = Clock::now() + std::chrono::hours(1);
  auto with = session.run(feeds(1000), {}, options);
  auto without = session.run(feeds(1000));
  ASSERT_TRUE(with.is_ok()) << with.status().message();
  ASSERT_TRUE(without.is_ok()) << without.status().message();
  const Tensor& a = (*with)[0].tensor();
  const Tensor& b = (*without)[0].tensor();
  ASSERT_EQ(a.size(), 2);
  ASSERT_EQ(b.size(), 2);
  EXPECT_EQ(a.data<float>()[0], 1000.f);
  EXPECT_EQ(a.data<float>()[1], 2000.f);
  EXPECT_EQ(b.data<float>()[0], a.data<float>()[0]);
  EXPECT_EQ(b.data<float>()[1], a.data<float>()[1]);
}

}  // namespace
}  // namespace tessera
