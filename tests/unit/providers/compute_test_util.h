// Runs one CPU kernel of the compute-heavy families (MatMul/Gemm, Einsum, Conv, Pool) without a
// session, with inputs optionally marked constant (so kernels that prepack weights take that
// path) and a chosen thread count. Also random tensors and closeness checks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "framework/kernel.h"
#include "framework/kernel_registry.h"
#include "providers/cpu/families.h"

namespace tessera::test_compute {

inline Attribute attr_i(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::int_;
  a.i = v;
  return a;
}
inline Attribute attr_f(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::float_;
  a.f = v;
  return a;
}
inline Attribute attr_s(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::string_;
  a.s = v;
  return a;
}
inline Attribute attr_ints(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::ints_;
  a.ints = std::move(v);
  return a;
}
inline Attribute attr_floats(const std::string& name, std::vector<float> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::floats_;
  a.floats = std::move(v);
  return a;
}

// Uniform values in [-1, 1) from a fixed seed.
inline Tensor random_f(Shape shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(DataType::float32, std::move(shape));
  for (float& v : t.span<float>()) v = dist(gen);
  return t;
}

class TestContext : public KernelContext {
 public:
  TestContext(const Node& node, const std::vector<std::optional<Tensor>>& inputs, ThreadPool& pool)
      : node_(node), outputs_(node.outputs.size()), pool_(pool) {
    for (const auto& t : inputs) inputs_.push_back(t ? std::optional<Value>(Value(*t)) : std::nullopt);
  }
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
    register_matmul(reg);
    register_einsum(reg);
    register_conv(reg);
    register_pool(reg);
    return reg;
  }();
  return r;
}

struct OpCall {
  std::string op;
  int64_t opset = 22;
  std::vector<std::optional<Tensor>> inputs{};  // nullopt: omitted optional input
  std::vector<Attribute> attrs{};
  int outputs = 1;
  int threads = 1;
  std::vector<size_t> constant_inputs{};  // these inputs are initializers
  std::string domain{};
};

inline Result<std::vector<Value>> run_op(const OpCall& call) {
  Node node;
  node.name = "n0";
  node.op_type = call.op;
  node.domain = call.domain;
  for (size_t i = 0; i < call.inputs.size(); ++i) node.inputs.push_back(call.inputs[i] ? "in" + std::to_string(i) : "");
  for (int i = 0; i < call.outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  for (const Attribute& a : call.attrs) node.attributes[a.name] = a;
  const KernelDef* def = registry().find(call.domain, call.op, call.opset);
  if (!def) return not_implemented("no kernel for ", call.op, " opset ", call.opset);
  std::map<std::string, Tensor> constants;
  for (size_t i : call.constant_inputs)
    if (call.inputs[i]) constants[node.inputs[i]] = *call.inputs[i];
  KernelInfo info(node, call.opset, constants);
  auto kernel = def->factory(info);
  if (!kernel.is_ok()) return kernel.status();
  ThreadPool pool(call.threads);
  TestContext ctx(node, call.inputs, pool);
  Status s = kernel.value()->compute(ctx);
  if (!s.is_ok()) return s;
  return ctx.outputs();
}

// Runs the call and returns output k, failing the test on error.
inline Tensor run1(const OpCall& call, size_t k = 0) {
  auto r = run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok() || r.value().size() <= k) return Tensor();
  return r.value()[k].tensor();
}

inline void expect_error(const OpCall& call, const std::string& fragment) {
  auto r = run_op(call);
  ASSERT_FALSE(r.is_ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("n0"), std::string::npos) << r.status().message();
}

// |got - want| <= atol + rtol * |want| element by element, shapes equal.
inline void expect_close(const Tensor& got, const Shape& shape, const std::vector<double>& want, double rtol = 1e-4,
                         double atol = 1e-5) {
  ASSERT_EQ(shape_to_string(got.shape()), shape_to_string(shape));
  ASSERT_EQ(static_cast<size_t>(got.size()), want.size());
  int reported = 0;
  for (int64_t i = 0; i < got.size(); ++i) {
    const double g = got.dtype() == DataType::float64 ? got.data<double>()[i] : got.data<float>()[i];
    const double w = want[static_cast<size_t>(i)];
    const bool ok = (std::isnan(g) && std::isnan(w)) || std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok && reported++ < 5) ADD_FAILURE() << "element " << i << ": got " << g << ", want " << w;
  }
}

}  // namespace tessera::test_compute
