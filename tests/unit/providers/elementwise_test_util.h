// Runs one CPU kernel of the elementwise families (unary, binary, variadic, cast) on given
// tensors without a session: builds the node, finds its kernel in a registry filled by those
// families' register_* functions and computes it with an in-memory KernelContext.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/float_types.h"
#include "framework/kernel.h"
#include "framework/kernel_registry.h"
#include "providers/cpu/families.h"

namespace tessera::test_elem {

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

template <class T>
Tensor make(DataType dtype, Shape shape, const std::vector<T>& v) {
  return Tensor::from_vector<T>(dtype, std::move(shape), v);
}
inline Tensor tf(Shape shape, const std::vector<float>& v) { return make<float>(DataType::float32, std::move(shape), v); }
inline Tensor td(Shape shape, const std::vector<double>& v) { return make<double>(DataType::float64, std::move(shape), v); }
inline Tensor ti32(Shape shape, const std::vector<int32_t>& v) { return make<int32_t>(DataType::int32, std::move(shape), v); }
inline Tensor ti64(Shape shape, const std::vector<int64_t>& v) { return make<int64_t>(DataType::int64, std::move(shape), v); }
inline Tensor ts(Shape shape, const std::vector<std::string>& v) { return make<std::string>(DataType::string, std::move(shape), v); }
inline Tensor tb(Shape shape, const std::vector<bool>& v) {
  Tensor t(DataType::boolean, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
inline Tensor th(Shape shape, const std::vector<float>& v) {
  std::vector<float16_t> h;
  for (float f : v) h.push_back(float16_t{float_to_half(f)});
  return make<float16_t>(DataType::float16, std::move(shape), h);
}
inline Tensor tbf(Shape shape, const std::vector<float>& v) {
  std::vector<bfloat16_t> h;
  for (float f : v) h.push_back(bfloat16_t{float_to_bfloat16(f)});
  return make<bfloat16_t>(DataType::bfloat16, std::move(shape), h);
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.size());
}
inline std::vector<bool> bools_of(const Tensor& t) {
  return std::vector<bool>(t.data<bool>(), t.data<bool>() + t.size());
}
// float16 / bfloat16 / float tensors as floats.
inline std::vector<float> floats_of(const Tensor& t) {
  std::vector<float> out;
  for (int64_t i = 0; i < t.size(); ++i) {
    if (t.dtype() == DataType::float16) out.push_back(half_to_float(t.data<float16_t>()[i].bits));
    else if (t.dtype() == DataType::bfloat16) out.push_back(bfloat16_to_float(t.data<bfloat16_t>()[i].bits));
    else if (t.dtype() == DataType::float64) out.push_back(static_cast<float>(t.data<double>()[i]));
    else out.push_back(t.data<float>()[i]);
  }
  return out;
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
    register_unary_elementwise(reg);
    register_binary_elementwise(reg);
    register_variadic_elementwise(reg);
    register_cast(reg);
    return reg;
  }();
  return r;
}

struct OpCall {
  OpCall(std::string op_type, int64_t opset_version, std::vector<std::optional<Value>> in,
         std::vector<Attribute> attributes = {})
      : op(std::move(op_type)), opset(opset_version), inputs(std::move(in)), attrs(std::move(attributes)) {}
  std::string op;
  int64_t opset;
  std::vector<std::optional<Value>> inputs;  // nullopt: omitted optional input
  std::vector<Attribute> attrs;
  int threads = 1;
};

inline Result<Tensor> run_op(const OpCall& call) {
  Node node;
  node.name = "n0";
  node.op_type = call.op;
  for (size_t i = 0; i < call.inputs.size(); ++i) node.inputs.push_back(call.inputs[i] ? "in" + std::to_string(i) : "");
  node.outputs.push_back("out0");
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
  return ctx.outputs()[0].tensor();
}

// Runs the call and returns its output, failing the test on error.
inline Tensor run1(const OpCall& call) {
  auto r = run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : Tensor();
}

// Expects the call to fail with a message containing `fragment` and naming the node.
inline void expect_error(const OpCall& call, const std::string& fragment) {
  auto r = run_op(call);
  ASSERT_FALSE(r.is_ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("n0"), std::string::npos) << r.status().message();
}

inline void expect_shape(const Tensor& t, DataType dtype, const Shape& shape) {
  EXPECT_EQ(t.dtype(), dtype);
  EXPECT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
}

// Elementwise closeness with NaN equal to NaN.
inline void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, float rtol = 1e-5f,
                            float atol = 1e-6f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i << " is " << got[i] << ", expected nan";
      continue;
    }
    if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "element " << i;
      continue;
    }
    EXPECT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << "element " << i;
  }
}

}  // namespace tessera::test_elem
