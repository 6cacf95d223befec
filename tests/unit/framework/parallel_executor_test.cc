// ExecutionMode::parallel (executor_parallel.cc; TSan runs this file too): independent branches
// really run at once, outputs are bit for bit the sequential run's, a failing or stopped branch
// ends the run with a clean error naming its node and every intermediate released, the profiler
// sees every node on the thread that ran it, and several runs share one parallel session.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "framework/session.h"
#include "providers/cpu/cpu_provider.h"
#include "tests/unit/api/model_inputs.h"
#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/temp_dir.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

using namespace tessera::test_util;

// An EP for these tests: it takes the Relu nodes whose name starts with one of its prefixes and
// runs each as Relu with a twist named by the prefix:
//   meet   waits until `meeting` meet nodes are computing at once (fails after a timeout);
//   fail   returns an error (`fail_slow` after 20 ms);
//   stop   sets the run's terminate flag (`terminate`);
//   track  writes into memory it counts (`live_buffers`), so a test sees what a run kept.
class BranchTestEp final : public ExecutionProvider {
 public:
  std::string name() const override { return "branch_test"; }
  const KernelRegistry& kernels() const override { return registry_; }
  Capability get_capability(const Graph& graph, const Model&, const ValueTypes&) const override {
    Capability capability;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& node = graph.nodes[i];
      bool mine = node.op_type == "Relu";
      mine = mine && (starts("meet", node) || starts("fail", node) || starts("stop", node) || starts("track", node));
      if (mine) capability.claimed.push_back(i);
      else capability.declined.push_back({i, DeclineReason::op, "not a test node"});
    }
    return capability;
  }
  Result<std::unique_ptr<OpKernel>> create_kernel(const KernelInfo& info) const override {
    return std::unique_ptr<OpKernel>(new Kernel(*this, info.node().name));
  }

  int meeting = 2;
  std::chrono::milliseconds meet_timeout{10000};
  std::shared_ptr<std::atomic<bool>> terminate = std::make_shared<std::atomic<bool>>(false);
  mutable std::atomic<int> arrived{0};
  mutable std::atomic<int64_t> live_buffers{0};

 private:
  static bool starts(const char* prefix, const Node& node) { return node.name.rfind(prefix, 0) == 0; }

  class Kernel final : public OpKernel {
   public:
    Kernel(const BranchTestEp& ep, std::string name) : ep_(ep), name_(std::move(name)) {}
    Status compute(KernelContext& ctx) const override {
      TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
      if (name_.rfind("fail_slow", 0) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (name_.rfind("fail", 0) == 0) return ctx.error("failed on purpose");
      if (name_.rfind("stop", 0) == 0) ep_.terminate->store(true);
      if (name_.rfind("meet", 0) == 0) {
        ++ep_.arrived;
        const auto give_up = std::chrono::steady_clock::now() + ep_.meet_timeout;
        while (ep_.arrived.load() < ep_.meeting)
          if (std::chrono::steady_clock::now() > give_up)
            return ctx.error("only ", ep_.arrived.load(), " of ", ep_.meeting, " meet nodes computed at once");
          else
            std::this_thread::yield();
      }
      float* out;
      if (name_.rfind("track", 0) == 0) {
        auto* data = new float[static_cast<size_t>(x->size())];
        ++ep_.live_buffers;
        std::shared_ptr<const void> owner(data, [&ep = ep_](const void* p) {
          --ep.live_buffers;
          delete[] static_cast<const float*>(p);
        });
        ctx.set_output(0, Value(Tensor::view(DataType::float32, x->shape(), std::move(owner), data)));
        out = data;
      } else {
        out = ctx.allocate_output_uninitialized(0, DataType::float32, x->shape()).data<float>();
      }
      const float* in = x->data<float>();
      for (int64_t i = 0; i < x->size(); ++i) out[i] = std::max(in[i], 0.0f);
      return Status::ok();
    }

   private:
    const BranchTestEp& ep_;
    const std::string name_;
  };

  KernelRegistry registry_;
};

Result<std::unique_ptr<SessionState>> make_state(Model model, const BranchTestEp* ep, int inter_op_threads,
                                                 int intra_op_threads = 1, const std::string& profile_path = "") {
  std::vector<std::unique_ptr<ExecutionProvider>> providers;
  if (ep) {  // the test keeps its own EP: wrap it in one that forwards to it
    struct Forward final : ExecutionProvider {
      explicit Forward(const BranchTestEp& inner) : inner(inner) {}
      std::string name() const override { return inner.name(); }
      const KernelRegistry& kernels() const override { return inner.kernels(); }
      Capability get_capability(const Graph& g, const Model& m, const ValueTypes& t) const override {
        return inner.get_capability(g, m, t);
      }
      Result<std::unique_ptr<OpKernel>> create_kernel(const KernelInfo& info) const override {
        return inner.create_kernel(info);
      }
      const BranchTestEp& inner;
    };
    providers.push_back(std::make_unique<Forward>(*ep));
  }
  providers.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.optimization_level = OptimizationLevel::disabled;  // the graph as written
  options.warm_up = false;  // the tests meet, count and stop their own runs' kernels
  options.intra_op_threads = intra_op_threads;
  options.execution_mode = ExecutionMode::parallel;
  options.inter_op_threads = inter_op_threads;
  options.profile_path = profile_path;
  return SessionState::create(std::move(model), std::move(providers), options);
}

const std::vector<float> kX = {-1, 0.5f, 2, -3, 1, 0.25f};

Feeds x_feed() { return {{"x", Value(tensor_of<float>(DataType::float32, {2, 3}, kX))}}; }

// y = Add(meet_a(x), meet_b(x)): two branches that can only finish together.
Model meeting_model() {
  Model m;
  m.source = "meeting";
  m.opset_imports[""] = 17;
  m.graph.inputs = {tensor_value("x", DataType::float32, {2, 3})};
  m.graph.outputs = {tensor_value("y", DataType::float32, {2, 3})};
  m.graph.nodes = {node("meet_a", "Relu", {"x"}, {"a"}), node("meet_b", "Relu", {"x"}, {"b"}),
                   node("add", "Add", {"a", "b"}, {"y"})};
  return m;
}

TEST(ParallelExecutor, IndependentBranchesComputeAtOnce) {
  BranchTestEp ep;
  auto state = make_state(meeting_model(), &ep, 2);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  auto out = (*state)->run(x_feed(), {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  const float* y = (*out)[0].tensor().data<float>();
  for (size_t i = 0; i < kX.size(); ++i) EXPECT_EQ(y[i], 2 * std::max(kX[i], 0.0f)) << i;

  // One inter-op thread is the sequential run: the second meet node never starts while the
  // first waits, which is what makes the test above fail without parallelism.
  BranchTestEp alone;
  alone.meet_timeout = std::chrono::milliseconds(50);
  auto sequential = make_state(meeting_model(), &alone, 1);
  ASSERT_TRUE(sequential.is_ok()) << sequential.status().message();
  auto failed = (*sequential)->run(x_feed(), {});
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().message().find("only 1 of 2 meet nodes"), std::string::npos) << failed.status().message();
}

// Six branches of MatMul -> Relu -> MatMul from one input, summed and concatenated: the outputs
// of every inter-op and intra-op thread count are the sequential run's, bit for bit.
Model wide_model() {
  Model m;
  m.source = "wide";
  m.opset_imports[""] = 17;
  Graph& g = m.graph;
  g.inputs = {tensor_value("x", DataType::float32, {4, 32})};
  g.outputs = {tensor_value("sum", DataType::float32, {4, 8}), tensor_value("cat", DataType::float32, {4, 48})};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-0.5f, 0.5f);
  auto weight = [&](int64_t rows, int64_t cols) {
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (float& v : w) v = value(rng);
    return tensor_of<float>(DataType::float32, {rows, cols}, w);
  };
  std::vector<std::string> branch_outputs;
  for (int b = 0; b < 6; ++b) {
    const std::string i = std::to_string(b);
    g.initializers["w" + i] = weight(32, 32);
    g.initializers["v" + i] = weight(32, 8);
    g.nodes.push_back(node("mm1_" + i, "MatMul", {"x", "w" + i}, {"h" + i}));
    g.nodes.push_back(node("relu_" + i, "Relu", {"h" + i}, {"r" + i}));
    g.nodes.push_back(node("mm2_" + i, "MatMul", {"r" + i, "v" + i}, {"o" + i}));
    branch_outputs.push_back("o" + i);
  }
  g.nodes.push_back(node("sum", "Sum", branch_outputs, {"sum"}));
  Node cat = node("cat", "Concat", branch_outputs, {"cat"});
  cat.attributes["axis"] = int_attr("axis", 1);
  g.nodes.push_back(cat);
  return m;
}

TEST(ParallelExecutor, WideModelGivesTheSequentialOutputs) {
  std::vector<float> x(4 * 32);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  const Feeds feeds = {{"x", Value(tensor_of<float>(DataType::float32, {4, 32}, x))}};
  auto sequential = make_state(wide_model(), nullptr, 1);
  ASSERT_TRUE(sequential.is_ok()) << sequential.status().message();
  auto expected = (*sequential)->run(feeds, {});
  ASSERT_TRUE(expected.is_ok()) << expected.status().message();
  for (int inter : {2, 4})
    for (int intra : {1, 2}) {
      auto state = make_state(wide_model(), nullptr, inter, intra);
      ASSERT_TRUE(state.is_ok()) << state.status().message();
      for (int run = 0; run < 20; ++run) {
        auto out = (*state)->run(feeds, {});
        ASSERT_TRUE(out.is_ok()) << out.status().message();
        ASSERT_EQ(out->size(), 2u);
        for (size_t o = 0; o < 2; ++o)
          EXPECT_TRUE(bitwise_equal((*out)[o].tensor(), (*expected)[o].tensor()))
              << "output " << o << ", inter-op " << inter << ", intra-op " << intra << ", run " << run;
      }
    }
}

// The small ResNet and BERT of tests/data/determinism, through the public API: parallel runs give
// the sequential outputs bit for bit.
TEST(ParallelExecutor, SmallResNetAndBertGiveTheSequentialOutputs) {
  for (const std::string& path : {kResnetLike, kBertLike}) {
    const Feeds feeds = path == kResnetLike ? resnet_feeds(2, 3) : bert_feeds(2, 9, 3);
    SessionOptions options;
    options.intra_op_threads = 2;
    auto sequential = Session::load(path, options);
    ASSERT_TRUE(sequential.is_ok()) << sequential.status().message();
    const std::vector<Value> expected = run_ok(*sequential, feeds);
    options.execution_mode = ExecutionMode::parallel;
    options.inter_op_threads = 3;
    auto parallel = Session::load(path, options);
    ASSERT_TRUE(parallel.is_ok()) << parallel.status().message();
    for (int run = 0; run < 5; ++run) {
      const std::vector<Value> out = run_ok(*parallel, feeds);
      ASSERT_EQ(out.size(), expected.size());
      for (size_t o = 0; o < out.size(); ++o)
        EXPECT_TRUE(bitwise_equal(out[o].tensor(), expected[o].tensor())) << path << " output " << o;
    }
  }
}

// x -> track_1 -> track_2 -> track_3 -> t3, and x -> `failing` -> f; y = Add(t3, f).
Model failing_model(const std::string& failing, const std::string& second_failing = "") {
  Model m;
  m.source = "failing";
  m.opset_imports[""] = 17;
  Graph& g = m.graph;
  g.inputs = {tensor_value("x", DataType::float32, {2, 3})};
  g.outputs = {tensor_value("y", DataType::float32, {2, 3})};
  g.nodes = {node(failing, "Relu", {"x"}, {"f"}), node("track_1", "Relu", {"x"}, {"t1"}),
             node("track_2", "Relu", {"t1"}, {"t2"}), node("track_3", "Relu", {"t2"}, {"t3"})};
  if (!second_failing.empty()) g.nodes.push_back(node(second_failing, "Relu", {"t3"}, {"t4"}));
  g.nodes.push_back(node("add", "Add", {second_failing.empty() ? "t3" : "t4", "f"}, {"y"}));
  return m;
}

TEST(ParallelExecutor, AFailingBranchGivesACleanErrorAndReleasesEverything) {
  BranchTestEp ep;
  auto state = make_state(failing_model("fail"), &ep, 2);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  for (int run = 0; run < 10; ++run) {
    auto out = (*state)->run(x_feed(), {});
    ASSERT_FALSE(out.is_ok());
    EXPECT_EQ(out.status().code(), StatusCode::invalid_argument);
    EXPECT_NE(out.status().message().find("node 'fail' (Relu): failed on purpose"), std::string::npos)
        << out.status().message();
    EXPECT_EQ(ep.live_buffers.load(), 0) << "run " << run << " kept intermediates";
  }
}

TEST(ParallelExecutor, OfTwoFailingStepsTheEarlierInTopologicalOrderIsReported) {
  // fail_slow (first in order) fails 20 ms after fail_fast (last) does.
  BranchTestEp ep;
  auto state = make_state(failing_model("fail_slow", "fail_fast"), &ep, 2);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  for (int run = 0; run < 5; ++run) {
    auto out = (*state)->run(x_feed(), {});
    ASSERT_FALSE(out.is_ok());
    EXPECT_NE(out.status().message().find("node 'fail_slow'"), std::string::npos) << out.status().message();
    EXPECT_EQ(ep.live_buffers.load(), 0);
  }
}

TEST(ParallelExecutor, StopsWhenTheTerminateFlagIsSetDuringTheRun) {
  // stop -> s -> track_1 -> track_2 (output): the flag is set while `stop` computes.
  Model m;
  m.source = "stopping";
  m.opset_imports[""] = 17;
  m.graph.inputs = {tensor_value("x", DataType::float32, {2, 3})};
  m.graph.outputs = {tensor_value("t2", DataType::float32, {2, 3})};
  m.graph.nodes = {node("stop", "Relu", {"x"}, {"s"}), node("track_1", "Relu", {"s"}, {"t1"}),
                   node("track_2", "Relu", {"t1"}, {"t2"})};
  BranchTestEp ep;
  auto state = make_state(std::move(m), &ep, 2);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  RunOptions options;
  options.terminate = ep.terminate;
  auto out = (*state)->run(x_feed(), {}, nullptr, options);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::cancelled);
  EXPECT_NE(out.status().message().find("before node 'track_1'"), std::string::npos) << out.status().message();
  EXPECT_EQ(ep.live_buffers.load(), 0);

  // A deadline already past stops the run before its first step.
  auto late = (*state)->run(x_feed(), {}, nullptr, RunOptions::with_timeout(std::chrono::milliseconds(-1)));
  ASSERT_FALSE(late.is_ok());
  EXPECT_EQ(late.status().code(), StatusCode::deadline_exceeded);
  EXPECT_NE(late.status().message().find("before node 'stop'"), std::string::npos) << late.status().message();
}

TEST(ParallelExecutor, ProfilesEveryNodeOnTheThreadThatRanIt) {
  TempDir dir("tessera_parallel_profile");
  const std::string trace = dir.path() + "/trace.json";
  BranchTestEp ep;
  auto state = make_state(meeting_model(), &ep, 2, 1, trace);
  ASSERT_TRUE(state.is_ok()) << state.status().message();
  auto out = (*state)->run(x_feed(), {});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  ASSERT_TRUE((*state)->end_profiling().is_ok());
  std::ifstream in(trace);
  const auto events = nlohmann::json::parse(in)["traceEvents"];
  std::set<std::string> names;
  std::set<uint64_t> meet_threads;
  for (const auto& e : events) {
    if (e["cat"] != "node") continue;
    names.insert(e["name"].get<std::string>());
    EXPECT_GE(e["dur"].get<double>(), 0.0);
    if (e["name"].get<std::string>().rfind("meet", 0) == 0) meet_threads.insert(e["tid"].get<uint64_t>());
  }
  EXPECT_EQ(names, (std::set<std::string>{"meet_a", "meet_b", "add"}));
  EXPECT_EQ(meet_threads.size(), 2u);  // they computed at once, so on two threads
}

TEST(ParallelExecutor, ThreadsShareOneParallelSession) {
  SessionOptions options;
  options.intra_op_threads = 2;
  auto sequential = Session::load(kBertLike, options);
  ASSERT_TRUE(sequential.is_ok()) << sequential.status().message();
  std::vector<Feeds> inputs;
  std::vector<std::vector<Value>> expected;
  for (unsigned k = 0; k < 6; ++k) {
    inputs.push_back(bert_feeds(1 + k % 3, 2 + k, k));
    expected.push_back(run_ok(*sequential, inputs.back()));
  }
  options.execution_mode = ExecutionMode::parallel;
  options.inter_op_threads = 2;
  auto session = Session::load(kBertLike, options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  const SharedRuns runs = run_from_threads(*session, inputs, expected, 4, 30);
  EXPECT_EQ(runs.failures, 0);
  EXPECT_EQ(runs.mismatches, 0);
}

TEST(ParallelExecutor, RefusesNegativeInterOpThreads) {
  auto state = make_state(meeting_model(), nullptr, -1);
  ASSERT_FALSE(state.is_ok());
  EXPECT_NE(state.status().message().find("inter_op_threads must be >= 0, got -1"), std::string::npos)
      << state.status().message();
}

}  // namespace
}  // namespace tessera
