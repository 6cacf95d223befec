// Runs one CPU kernel of the rnn, vision, misc_math, ml and optimizer families without a
// session: builds the node (any domain), finds its kernel in a registry of those families,
// optionally marks inputs constant (so prepacking paths run) and computes with a chosen thread
// count.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/float_types.h"
#include "framework/kernel.h"
#include "framework/kernel_registry.h"
#include "providers/cpu/families.h"

namespace tessera::test_rvm {

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

inline Tensor tf(Shape shape, std::vector<float> v) { return Tensor::from_vector<float>(DataType::float32, std::move(shape), v); }
inline Tensor td(Shape shape, std::vector<double> v) { return Tensor::from_vector<double>(DataType::float64, std::move(shape), v); }
inline Tensor ti64(Shape shape, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(DataType::int64, std::move(shape), v); }
inline Tensor ti32(Shape shape, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DataType::int32, std::move(shape), v); }
inline Tensor ts(Shape shape, std::vector<std::string> v) {
  return Tensor::from_vector<std::string>(DataType::string, std::move(shape), v);
}

// Uniform values in [lo, hi) from a fixed seed.
inline Tensor random_f(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DataType::float32, std::move(shape));
  for (float& v : t.span<float>()) v = dist(gen);
  return t;
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.size());
}

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
    register_rnn(reg);
    register_vision(reg);
    register_misc_math(reg);
    register_ml(reg);
    register_optimizers(reg);
    return reg;
  }();
  return r;
}

struct OpCall {
  OpCall(std::string op_type, int64_t opset_version, std::vector<std::optional<Value>> in,
         std::vector<Attribute> attributes = {}, int output_count = 1)
      : op(std::move(op_type)), opset(opset_version), inputs(std::move(in)), attrs(std::move(attributes)),
        outputs(output_count) {}
  std::string op;
  int64_t opset;
  std::vector<std::optional<Value>> inputs;  // nullopt: omitted optional input
  std::vector<Attribute> attrs;
  int outputs;                               // count of outputs the node names
  std::vector<int> skip_outputs;             // output slots left unnamed (optional outputs not wanted)
  std::string domain;
  std::vector<size_t> constant_inputs;       // inputs handed to the factory as initializers
  int threads = 1;
};

inline Result<std::vector<Value>> run_op(const OpCall& call) {
  Node node;
  node.name = "n0";
  node.op_type = call.op;
  node.domain = call.domain;
  for (size_t i = 0; i < call.inputs.size(); ++i) node.inputs.push_back(call.inputs[i] ? "in" + std::to_string(i) : "");
  for (int i = 0; i < call.outputs; ++i) {
    const bool skip = std::find(call.skip_outputs.begin(), call.skip_outputs.end(), i) != call.skip_outputs.end();
    node.outputs.push_back(skip ? "" : "out" + std::to_string(i));
  }
  for (const Attribute& a : call.attrs) node.attributes[a.name] = a;
  const KernelDef* def = registry().find(call.domain, call.op, call.opset);
  if (!def) return not_implemented("no kernel for ", call.op, " opset ", call.opset);
  std::map<std::string, Tensor> constants;
  for (size_t i : call.constant_inputs)
    if (i < call.inputs.size() && call.inputs[i] && call.inputs[i]->is_tensor()) constants["in" + std::to_string(i)] = call.inputs[i]->tensor();
  KernelInfo info(node, call.opset, constants);
  auto kernel = def->factory(info);
  if (!kernel.is_ok()) return kernel.status();
  ThreadPool pool(call.threads);
  TestContext ctx(node, call.inputs, pool);
  Status s = kernel.value()->compute(ctx);
  if (!s.is_ok()) return s;
  return ctx.outputs();
}

// Runs the call and returns output k as a tensor, failing the test on error.
inline Tensor run1(const OpCall& call, size_t k = 0) {
  auto r = run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok() || r.value().size() <= k) return Tensor();
  return r.value()[k].tensor();
}

// Expects the call to fail with a message containing `fragment` and naming the node.
inline void expect_error(const OpCall& call, const std::string& fragment) {
  auto r = run_op(call);
  ASSERT_FALSE(r.is_ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("n0"), std::string::npos) << r.status().message();
}

// Element-wise |got - want| <= atol + rtol * |want| over float tensors.
inline void expect_close(const Tensor& got, const Shape& shape, const std::vector<float>& want, float atol = 1e-5f,
                         float rtol = 1e-4f) {
  ASSERT_EQ(got.dtype(), DataType::float32);
  ASSERT_EQ(shape_to_string(got.shape()), shape_to_string(shape));
  ASSERT_EQ(static_cast<size_t>(got.size()), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got.data<float>()[i], want[i], atol + rtol * std::abs(want[i])) << "element " << i;
}

}  // namespace tessera::test_rvm
