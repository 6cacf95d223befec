// Helpers for the control-flow, sequence, optional and string kernel tests: build small graphs
// in the IR (subgraphs included) and run them through a real session with the CPU EP, or run one
// kernel directly with an in-memory KernelContext.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "framework/kernel.h"
#include "framework/kernel_registry.h"
#include "framework/session.h"
#include "providers/cpu/cpu_provider.h"
#include "providers/cpu/families.h"

namespace tessera::test_flow {

inline Tensor tf(Shape shape, std::vector<float> v) { return Tensor::from_vector<float>(DataType::float32, std::move(shape), v); }
inline Tensor ti64(Shape shape, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(DataType::int64, std::move(shape), v); }
inline Tensor ti32(Shape shape, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DataType::int32, std::move(shape), v); }
inline Tensor tb(bool v) { return Tensor::scalar<bool>(DataType::boolean, v); }
inline Tensor ts(Shape shape, std::vector<std::string> v) {
  return Tensor::from_vector<std::string>(DataType::string, std::move(shape), v);
}

inline TypeInfo tensor_type(DataType dtype, std::optional<Shape> shape = std::nullopt) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::tensor;
  t.elem_type = dtype;
  if (shape) {
    t.shape.emplace();
    for (int64_t d : *shape) t.shape->push_back(Dim{d, ""});
  }
  return t;
}
inline TypeInfo seq_type(DataType dtype) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::sequence;
  t.inner = std::make_shared<TypeInfo>(tensor_type(dtype));
  return t;
}

inline Attribute attr_i(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::int_;
  a.i = v;
  return a;
}
inline Attribute attr_ints(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::ints_;
  a.ints = std::move(v);
  return a;
}
inline Attribute attr_s(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::string_;
  a.s = v;
  return a;
}
inline Attribute attr_strings(const std::string& name, std::vector<std::string> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::strings_;
  a.strings = std::move(v);
  return a;
}
inline Attribute attr_t(const std::string& name, Tensor t) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::tensor_;
  a.t = std::move(t);
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
  // y = Constant(value)
  GraphBuilder& constant(const std::string& name, Tensor value) { return node("Constant", {}, {name}, {attr_t("value", value)}); }
  Graph build() { return std::move(g_); }

 private:
  Graph g_;
};

inline Attribute attr_g(const std::string& name, Graph g) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::graph_;
  a.g = std::make_shared<Graph>(std::move(g));
  return a;
}

// Creates a session over `graph` at `opset` with the CPU EP.
inline Result<std::unique_ptr<SessionState>> make_session(Graph graph, int64_t opset) {
  Model model;
  model.ir_version = 8;
  model.opset_imports[""] = opset;
  model.source = "test:" + graph.name;
  model.graph = std::move(graph);
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.intra_op_threads = 2;
  return SessionState::create(std::move(model), std::move(eps), options);
}

inline Result<std::vector<Value>> run_graph(Graph graph, int64_t opset, const Feeds& feeds) {
  TS_ASSIGN_OR_RETURN(std::unique_ptr<SessionState> session, make_session(std::move(graph), opset));
  return session->run(feeds, {});
}

template <class T>
void expect_tensor(const Value& v, const Shape& shape, const std::vector<T>& want) {
  ASSERT_TRUE(v.is_tensor());
  const Tensor& t = v.tensor();
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  ASSERT_EQ(t.size(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t.data<T>()[i], want[i]) << "element " << i;
}

// ---- one kernel, no session ----

class TestContext : public KernelContext {
 public:
  TestContext(const Node& node, std::vector<std::optional<Value>> inputs, ThreadPool& pool)
      : node_(node), inputs_(std::move(inputs)), outputs_(node.outputs.size()), pool_(pool) {}

  size_t input_count() const override { return inputs_.size(); }
  size_t output_count() const override { return outputs_.size(); }
  const Value* input_value(size_t i) const override {
    return i < inputs_.size() && inputs_[i].has_value() ? &*inputs_[i] : nullptr;
  }
  Tensor& allocate_output(size_t i, DataType dtype, const Shape& shape) override {
    outputs_[i] = Value(Tensor(dtype, shape));
    return outputs_[i].tensor();
  }
  void set_output(size_t i, Value value) override { outputs_[i] = std::move(value); }
  bool output_requested(size_t i) const override { return i < node_.outputs.size() && !node_.outputs[i].empty(); }
  ThreadPool& thread_pool() const override { return pool_; }
  const Node& node() const override { return node_; }
  std::vector<Value>& outputs() { return outputs_; }

 private:
  const Node& node_;
  std::vector<std::optional<Value>> inputs_;
  std::vector<Value> outputs_;
  ThreadPool& pool_;
};

inline const KernelRegistry& registry() {
  static const KernelRegistry r = [] {
    KernelRegistry reg;
    register_sequence(reg);
    register_optional(reg);
    register_text(reg);
    return reg;
  }();
  return r;
}

// Runs one kernel of the sequence/optional/text families; nullopt inputs are omitted.
inline Result<std::vector<Value>> run_op(const std::string& op, int64_t opset, std::vector<std::optional<Value>> inputs,
                                         std::vector<Attribute> attrs = {}, size_t outputs = 1) {
  Node node;
  node.name = "n0";
  node.op_type = op;
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
  for (size_t i = 0; i < outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  for (auto& a : attrs) node.attributes[a.name] = std::move(a);
  const KernelDef* def = registry().find("", op, opset);
  if (!def) return not_implemented("no kernel for ", op, " opset ", opset);
  std::map<std::string, Tensor> constants;
  KernelInfo info(node, opset, constants);
  TS_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, def->factory(info));
  ThreadPool pool(1);
  TestContext ctx(node, std::move(inputs), pool);
  TS_RETURN_IF_ERROR(kernel->compute(ctx));
  return std::move(ctx.outputs());
}

}  // namespace tessera::test_flow
