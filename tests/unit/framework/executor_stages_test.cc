// The executor's stages one by one: check, partition, plan memory.
#include <gtest/gtest.h>

#include <algorithm>

#include "framework/graph_check.h"
#include "framework/memory_plan.h"
#include "framework/partitioner.h"
#include "tests/unit/graph/graph_builders.h"

namespace tessera {
namespace {

ValueInfo float_value(const std::string& name) {
  ValueInfo v;
  v.name = name;
  v.type.kind = TypeInfo::Kind::tensor;
  v.type.elem_type = DataType::float32;
  return v;
}

Model relu_neg_model() {
  Model m;
  m.opset_imports[""] = 17;
  m.graph.inputs.push_back(float_value("x"));
  m.graph.outputs.push_back(float_value("y"));
  m.graph.nodes.push_back(node("neg", "Neg", {"r"}, {"y"}));
  m.graph.nodes.push_back(node("relu", "Relu", {"x"}, {"r"}));
  return m;
}

TEST(GraphCheck, OrdersNodesAndFindsOuterValues) {
  Model m = relu_neg_model();
  m.graph.nodes[1].inputs[0] = "outer_x";  // read from an enclosing graph
  auto checked = check_graph(m.graph, m, {"outer_x"});
  ASSERT_TRUE(checked.is_ok()) << checked.status().message();
  EXPECT_EQ(checked->order, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(checked->outer_names, (std::vector<std::string>{"outer_x"}));

  auto undefined = check_graph(m.graph, m, {});
  ASSERT_FALSE(undefined.is_ok());
  EXPECT_NE(undefined.status().message().find("'outer_x'"), std::string::npos) << undefined.status().message();
}

TEST(GraphCheck, RefusesANodeThatBreaksItsSchema) {
  Model m = relu_neg_model();
  m.graph.nodes[0].inputs.push_back("x");  // Neg takes one input
  auto checked = check_graph(m.graph, m, {});
  ASSERT_FALSE(checked.is_ok());
  EXPECT_NE(checked.status().message().find("node 'neg' (Neg)"), std::string::npos) << checked.status().message();
}

// An EP that takes the nodes whose op is in its list.
class ListEp final : public ExecutionProvider {
 public:
  ListEp(std::string name, std::vector<std::string> ops) : name_(std::move(name)), ops_(std::move(ops)) {
    for (const auto& op : ops_) registry_.add({"", op, 14, 17, nullptr});
  }
  std::string name() const override { return name_; }
  Capability get_capability(const Graph& graph, const Model&, const ValueTypes&) const override {
    Capability capability;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      if (std::find(ops_.begin(), ops_.end(), graph.nodes[i].op_type) != ops_.end())
        capability.claimed.push_back(i);
      else
        capability.declined.push_back({i, DeclineReason::op, "not in the list"});
    }
    return capability;
  }
  const KernelRegistry& kernels() const override { return registry_; }

 private:
  std::string name_;
  std::vector<std::string> ops_;
  KernelRegistry registry_;
};

Result<Partition> partition_of(const Model& m, const std::vector<const ExecutionProvider*>& providers) {
  TS_ASSIGN_OR_RETURN(CheckedGraph checked, check_graph(m.graph, m, {}));
  return partition(m.graph, m, checked, providers);
}

TEST(Partitioner, GivesEachNodeToTheFirstEpThatTakesIt) {
  Model m = relu_neg_model();
  ListEp fast("fast", {"Relu"}), general("general", {"Relu", "Neg"});
  auto placed = partition_of(m, {&fast, &general});
  ASSERT_TRUE(placed.is_ok()) << placed.status().message();
  EXPECT_EQ(placed->assigned[0], &general);  // Neg
  EXPECT_EQ(placed->assigned[1], &fast);     // Relu: both take it, the first in priority order wins
  // Relu runs first: two subgraphs in execution order; Neg fell back from `fast`, with its reason.
  ASSERT_EQ(placed->subgraphs.size(), 2u);
  EXPECT_EQ(placed->subgraphs[0].provider, &fast);
  EXPECT_EQ(placed->subgraphs[1].nodes, (std::vector<size_t>{0}));
  ASSERT_EQ(placed->fallbacks.size(), 1u);
  EXPECT_EQ(placed->fallbacks[0].node, 0u);
  EXPECT_EQ(placed->fallbacks[0].reason, "op not supported: not in the list");
  EXPECT_TRUE(placed->copies.empty());  // both EPs work in host memory

  auto reversed = partition_of(m, {&general, &fast});
  ASSERT_TRUE(reversed.is_ok());
  EXPECT_EQ(reversed->assigned[1], &general);
  EXPECT_EQ(reversed->subgraphs.size(), 1u);
}

TEST(Partitioner, NamesTheNodeNoEpTakes) {
  Model m = relu_neg_model();
  ListEp relu_only("relu_only", {"Relu"});
  auto assigned = partition_of(m, {&relu_only});
  ASSERT_FALSE(assigned.is_ok());
  EXPECT_NE(assigned.status().message().find("node 'neg' (Neg)"), std::string::npos) << assigned.status().message();
  EXPECT_NE(assigned.status().message().find("opset 17"), std::string::npos) << assigned.status().message();
}

TEST(MemoryPlan, ReleasesEachValueAfterItsLastReader) {
  // slots: 0 = x (input), 1 = a, 2 = b, 3 = unused output, 4 = y (graph output)
  // step 0: a, unused = Split(x); step 1: b = Relu(a); step 2: y = Add(a, b)
  std::vector<StepSlots> steps = {{{0}, {1, 3}}, {{1}, {2}}, {{1, 2}, {4}}};
  auto releases = plan_releases(steps, /*kept_slots=*/{4, 0}, 5);
  ASSERT_EQ(releases.size(), 3u);
  EXPECT_EQ(releases[0], (std::vector<int>{3}));     // produced, never read: freed at once
  EXPECT_TRUE(releases[1].empty());                  // a is still needed by step 2
  EXPECT_EQ(releases[2], (std::vector<int>{1, 2}));  // a and b after their last reader; y kept
}

TEST(MemoryPlan, ParallelPlanCountsProducersAndReaders) {
  // slots: 0 = x (input), 1 = a, 2 = b, 3 = c, 4 = unused output, 5 = y (graph output), 6 = w
  // step 0: a, unused = Split(x); step 1: b = Relu(a); step 2: c = Neg(a); step 3: y = Sum(b, c, b, w)
  // Steps 1 and 2 both wait for step 0 only, so they may run at once; whichever finishes last
  // releases a.
  std::vector<StepSlots> steps = {{{0}, {1, 4}}, {{1}, {2}}, {{1}, {3}}, {{2, 3, 2, 6, -1}, {5}}};
  ParallelPlan plan = plan_parallel(steps, /*kept_slots=*/{5}, 7);
  EXPECT_EQ(plan.waits_for, (std::vector<int>{0, 1, 1, 2}));
  EXPECT_EQ(plan.unblocks, (std::vector<std::vector<int>>{{1, 2}, {3}, {3}, {}}));
  // a has two readers; b is read twice by one step: one reader; w (an initializer) one; y none (kept).
  EXPECT_EQ(plan.readers, (std::vector<int>{1, 2, 1, 1, 0, 0, 1}));
  EXPECT_EQ(plan.counted_reads, (std::vector<std::vector<int>>{{0}, {1}, {1}, {2, 3, 6}}));
  EXPECT_EQ(plan.unread_writes, (std::vector<std::vector<int>>{{4}, {}, {}, {}}));  // y is kept, not unread
}

}  // namespace
}  // namespace tessera
