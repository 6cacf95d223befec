#include "graph/graph.h"

#include <gtest/gtest.h>

#include "graph/function_inliner.h"
#include "tests/unit/graph/graph_builders.h"

namespace tessera {
namespace {

TEST(TopologicalOrder, OrdersProducersBeforeConsumers) {
  Graph g;
  g.inputs.push_back({"x", {}});
  g.nodes.push_back(node("c", "Add", {"a", "b"}, {"y"}));
  g.nodes.push_back(node("a", "Relu", {"x"}, {"a"}));
  g.nodes.push_back(node("b", "Neg", {"a"}, {"b"}));
  auto order = topological_order(g, {});
  ASSERT_TRUE(order.is_ok()) << order.status().message();
  EXPECT_EQ(*order, (std::vector<size_t>{1, 2, 0}));
}

TEST(TopologicalOrder, ReportsMissingInputsAndCycles) {
  Graph g;
  g.nodes.push_back(node("n", "Relu", {"nowhere"}, {"y"}));
  auto missing = topological_order(g, {});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("'nowhere'"), std::string::npos);

  Graph cycle;
  cycle.nodes.push_back(node("p", "Relu", {"b"}, {"a"}));
  cycle.nodes.push_back(node("q", "Relu", {"a"}, {"b"}));
  auto cyclic = topological_order(cycle, {});
  ASSERT_FALSE(cyclic.is_ok());
  EXPECT_NE(cyclic.status().message().find("cycle"), std::string::npos);
}

TEST(FunctionInliner, ReplacesCallsWithRenamedBodies) {
  Model m;
  m.opset_imports[""] = 17;
  m.opset_imports["local"] = 1;
  Function f;
  f.name = "DoubleRelu";
  f.domain = "local";
  f.inputs = {"x"};
  f.outputs = {"y"};
  f.nodes.push_back(node("r1", "Relu", {"x"}, {"t"}));
  f.nodes.push_back(node("r2", "Relu", {"t"}, {"y"}));
  m.functions.push_back(f);
  Node call = node("call", "DoubleRelu", {"in"}, {"out"});
  call.domain = "local";
  m.graph.nodes.push_back(call);

  ASSERT_TRUE(inline_model_functions(m).is_ok());
  ASSERT_EQ(m.graph.nodes.size(), 2u);
  EXPECT_EQ(m.graph.nodes[0].inputs[0], "in");
  EXPECT_EQ(m.graph.nodes[0].outputs[0], m.graph.nodes[1].inputs[0]);
  EXPECT_NE(m.graph.nodes[0].outputs[0], "t");  // internal names get a unique prefix
  EXPECT_EQ(m.graph.nodes[1].outputs[0], "out");
}

// F0 calls F1 twice, F1 calls F2 twice, ... F30 is one Relu: 2^30 nodes once inlined. The size is
// measured before anything is expanded, so this fails at once with the limit named.
TEST(FunctionInliner, RefusesAnExponentialFanOutBeforeExpandingIt) {
  Model m;
  m.opset_imports[""] = 17;
  m.opset_imports["local"] = 1;
  const int levels = 30;
  for (int level = 0; level <= levels; ++level) {
    Function f;
    f.name = "F" + std::to_string(level);
    f.domain = "local";
    f.inputs = {"x"};
    f.outputs = {"y"};
    if (level == levels) {
      f.nodes.push_back(node("r", "Relu", {"x"}, {"y"}));
    } else {
      Node a = node("a", "F" + std::to_string(level + 1), {"x"}, {"t"});
      Node b = node("b", "F" + std::to_string(level + 1), {"t"}, {"y"});
      a.domain = b.domain = "local";
      f.nodes.push_back(a);
      f.nodes.push_back(b);
    }
    m.functions.push_back(f);
  }
  Node call = node("call", "F0", {"in"}, {"out"});
  call.domain = "local";
  m.graph.nodes.push_back(call);

  Status status = inline_model_functions(m);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("more than 1000000 nodes"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("limits.max_nodes"), std::string::npos) << status.message();
  EXPECT_EQ(m.graph.nodes.size(), 1u);  // nothing was expanded

  Model small = m;  // the same shape of model, 2^4 nodes, fits a limit of 16 exactly
  small.functions[4].nodes = {node("r", "Relu", {"x"}, {"y"})};
  ResourceLimits limits;
  limits.max_nodes = 15;
  EXPECT_FALSE(inline_model_functions(small, limits).is_ok());
  limits.max_nodes = 16;
  ASSERT_TRUE(inline_model_functions(small, limits).is_ok());
  EXPECT_EQ(small.graph.nodes.size(), 16u);
}

}  // namespace
}  // namespace tessera
