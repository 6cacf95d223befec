// Runs one CPU kernel of the reduction / normalization families on given tensors, without a
// session: builds the node, finds its kernel in a registry filled by the family's register_*
// function and computes it with an in-memory KernelContext.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/float_types.h"
#include "framework/kernel.h"
#include "framework/kernel_registry.h"
#include "providers/cpu/families.h"

namespace tessera::test_rn {

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

inline Tensor tf(Shape shape, std::vector<float> v) { return Tensor::from_vector<float>(DataType::float32, std::move(shape), v); }
inline Tensor td(Shape shape, std::vector<double> v) { return Tensor::from_vector<double>(DataType::float64, std::move(shape), v); }
inline Tensor ti64(Shape shape, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(DataType::int64, std::move(shape), v); }
inline Tensor ti32(Shape shape, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DataType::int32, std::move(shape), v); }
inline Tensor th(Shape shape, const std::vector<float>& v) {
  std::vector<float16_t> h;
  for (float f : v) h.push_back(float16_t{float_to_half(f)});
  return Tensor::from_vector<float16_t>(DataType::float16, std::move(shape), h);
}
inline Tensor tbf(Shape shape, const std::vector<float>& v) {
  std::vector<bfloat16_t> h;
  for (float f : v) h.push_back(bfloat16_t{float_to_bfloat16(f)});
  return Tensor::from_vector<bfloat16_t>(DataType::bfloat16, std::move(shape), h);
}

// Element i of a float-typed tensor as double.
inline double at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::float32: return t.data<float>()[i];
    case DataType::float64: return t.data<double>()[i];
    case DataType::float16: return half_to_float(t.data<float16_t>()[i].bits);
    case DataType::bfloat16: return bfloat16_to_float(t.data<bfloat16_t>()[i].bits);
    case DataType::int64: return static_cast<double>(t.data<int64_t>()[i]);
    case DataType::int32: return t.data<int32_t>()[i];
    case DataType::uint8: return t.data<uint8_t>()[i];
    case DataType::boolean: return t.data<bool>()[i] ? 1 : 0;
    default: return NAN;
  }
}

inline void expect_values(const Tensor& t, const Shape& shape, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  ASSERT_EQ(t.size(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    double got = at(t, static_cast<int64_t>(i));
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got)) << "element " << i;
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got, want[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got, want[i], tol * (1 + std::fabs(want[i]))) << "element " << i;
    }
  }
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
    register_reduce(reg);
    register_arg_reduce(reg);
    register_topk_cumsum(reg);
    register_softmax(reg);
    register_normalization(reg);
    register_dropout(reg);
    register_resize(reg);
    return reg;
  }();
  return r;
}

struct OpCall {
  OpCall(std::string op_type, int64_t opset_version, std::vector<std::optional<Tensor>> in,
         std::vector<Attribute> attributes = {}, int output_count = 1)
      : op(std::move(op_type)), opset(opset_version), inputs(std::move(in)), attrs(std::move(attributes)),
        outputs(output_count) {}
  std::string op;
  int64_t opset;
  std::vector<std::optional<Tensor>> inputs;  // nullopt: omitted optional input
  std::vector<Attribute> attrs;
  int outputs;
  std::vector<bool> constant_inputs;  // inputs to hand to the factory as initializers
  int threads = 1;
};

// Runs the call; on failure returns the error status.
inline Result<std::vector<Value>> run_op(const OpCall& call) {
  Node node;
  node.name = "n0";
  node.op_type = call.op;
  std::map<std::string, Tensor> constants;
  std::vector<std::optional<Value>> values;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    if (!call.inputs[i]) {
      node.inputs.push_back("");
      values.push_back(std::nullopt);
      continue;
    }
    std::string name = "in" + std::to_string(i);
    node.inputs.push_back(name);
    values.push_back(Value(*call.inputs[i]));
    if (i < call.constant_inputs.size() && call.constant_inputs[i]) constants[name] = *call.inputs[i];
  }
  for (int i = 0; i < call.outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  for (const Attribute& a : call.attrs) node.attributes[a.name] = a;
  const KernelDef* def = registry().find("", call.op, call.opset);
  if (!def) return not_implemented("no kernel for ", call.op, " opset ", call.opset);
  KernelInfo info(node, call.opset, constants);
  auto kernel = def->factory(info);
  if (!kernel.is_ok()) return kernel.status();
  ThreadPool pool(call.threads);
  TestContext ctx(node, std::move(values), pool);
  Status s = kernel.value()->compute(ctx);
  if (!s.is_ok()) return s;
  return ctx.outputs();
}

// Runs and returns output `k` as a tensor, failing the test on error.
inline Tensor run1(const OpCall& call, size_t k = 0) {
  auto r = run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok() || r.value().size() <= k) return Tensor();
  return r.value()[k].tensor();
}

}  // namespace tessera::test_rn
