// Runs one CPU kernel of the tensor-manipulation families (providers/cpu/tensor/) on given values,
// without a session: builds the node, finds its kernel in a registry filled by the families'
// register_* functions and computes it with an in-memory KernelContext.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/float_types.h"
#include "framework/kernel.h"
#include "framework/kernel_registry.h"
#include "providers/cpu/families.h"

namespace tessera::test_tensor {

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
inline Attribute attr_t(const std::string& name, Tensor t) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::tensor_;
  a.t = std::move(t);
  return a;
}

inline Tensor tf(Shape shape, std::vector<float> v) { return Tensor::from_vector<float>(DataType::float32, std::move(shape), v); }
inline Tensor ti64(Shape shape, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(DataType::int64, std::move(shape), v); }
inline Tensor ti32(Shape shape, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(DataType::int32, std::move(shape), v); }
inline Tensor tu8(Shape shape, std::vector<uint8_t> v) { return Tensor::from_vector<uint8_t>(DataType::uint8, std::move(shape), v); }
inline Tensor tb(Shape shape, std::vector<bool> v) {
  Tensor t(DataType::boolean, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
inline Tensor ts(Shape shape, std::vector<std::string> v) {
  return Tensor::from_vector<std::string>(DataType::string, std::move(shape), v);
}
inline Tensor th(Shape shape, const std::vector<float>& v) {
  std::vector<float16_t> h;
  for (float f : v) h.push_back(float16_t{float_to_half(f)});
  return Tensor::from_vector<float16_t>(DataType::float16, std::move(shape), h);
}
// 0, 1, 2, ... of any numeric-as-int64 count, as float.
inline Tensor iota_f(Shape shape) {
  Tensor t(DataType::float32, std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = static_cast<float>(i);
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
    register_shape_ops(reg);
    register_generators(reg);
    register_transpose(reg);
    register_concat_split(reg);
    register_slice(reg);
    register_gather_scatter(reg);
    register_expand_tile_pad(reg);
    register_index_ops(reg);
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
  int outputs;
  int threads = 1;
};

inline Result<std::vector<Value>> run_op(const OpCall& call) {
  Node node;
  node.name = "n0";
  node.op_type = call.op;
  for (size_t i = 0; i < call.inputs.size(); ++i) node.inputs.push_back(call.inputs[i] ? "in" + std::to_string(i) : "");
  for (int i = 0; i < call.outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  for (const Attribute& a : call.attrs) node.attributes[a.name] = a;
  const KernelDef* def = registry().find("", call.op, call.opset);
  if (!def) return not_implemented("no kernel for ", call.op, " opset ", call.opset);
  std::map<std::string, Tensor> constants;
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

inline void expect_f(const Tensor& t, const Shape& shape, const std::vector<float>& want) {
  ASSERT_EQ(t.dtype(), DataType::float32);
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  EXPECT_EQ(values_of<float>(t), want);
}
inline void expect_i64(const Tensor& t, const Shape& shape, const std::vector<int64_t>& want) {
  ASSERT_EQ(t.dtype(), DataType::int64);
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  EXPECT_EQ(values_of<int64_t>(t), want);
}

}  // namespace tessera::test_tensor
