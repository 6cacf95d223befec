// Runs one CPU kernel of the attention, loss, quantization, signal and random families on given
// values without a session: builds the node, finds its kernel in a registry filled by those
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

namespace tessera::test_aq {

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

template <class T>
Tensor make(DataType dtype, Shape shape, const std::vector<T>& v) {
  return Tensor::from_vector<T>(dtype, std::move(shape), v);
}
inline Tensor tf(Shape shape, const std::vector<float>& v) { return make<float>(DataType::float32, std::move(shape), v); }
inline Tensor td(Shape shape, const std::vector<double>& v) { return make<double>(DataType::float64, std::move(shape), v); }
inline Tensor ti64(Shape shape, const std::vector<int64_t>& v) { return make<int64_t>(DataType::int64, std::move(shape), v); }
inline Tensor ti32(Shape shape, const std::vector<int32_t>& v) { return make<int32_t>(DataType::int32, std::move(shape), v); }
inline Tensor tu8(Shape shape, const std::vector<uint8_t>& v) { return make<uint8_t>(DataType::uint8, std::move(shape), v); }
inline Tensor ti8(Shape shape, const std::vector<int8_t>& v) { return make<int8_t>(DataType::int8, std::move(shape), v); }
inline Tensor tb(Shape shape, const std::vector<bool>& v) {
  Tensor t(DataType::boolean, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
inline Tensor th(Shape shape, const std::vector<float>& v) {
  std::vector<float16_t> h;
  for (float f : v) h.push_back(float16_t{float_to_half(f)});
  return Tensor::from_vector<float16_t>(DataType::float16, std::move(shape), h);
}
// Deterministic pseudo-random floats in [lo, hi).
inline std::vector<float> noise(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 12345u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / static_cast<float>(1u << 24);
  }
  return v;
}

// Any float tensor's values as double.
inline std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) {
    switch (t.dtype()) {
      case DataType::float32: v[i] = t.data<float>()[i]; break;
      case DataType::float64: v[i] = t.data<double>()[i]; break;
      case DataType::float16: v[i] = half_to_float(t.data<uint16_t>()[i]); break;
      case DataType::bfloat16: v[i] = bfloat16_to_float(t.data<uint16_t>()[i]); break;
      default: ADD_FAILURE() << "not a float tensor"; return v;
    }
  }
  return v;
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
    register_attention(reg);
    register_loss(reg);
    register_quantization(reg);
    register_signal(reg);
    register_random(reg);
    return reg;
  }();
  return r;
}

struct OpCall {
  OpCall(std::string op_type, int64_t opset_version, std::vector<std::optional<Value>> in,
         std::vector<Attribute> attributes = {}, std::vector<std::string> output_names = {"y"})
      : op(std::move(op_type)), opset(opset_version), inputs(std::move(in)), attrs(std::move(attributes)),
        outputs(std::move(output_names)) {}
  std::string op;
  int64_t opset;
  std::vector<std::optional<Value>> inputs;  // nullopt: omitted optional input
  std::vector<Attribute> attrs;
  std::vector<std::string> outputs;  // "" marks an output the graph does not use
  int threads = 1;
};

// Builds the kernel once and computes it `runs` times; returns the outputs of the last run.
inline Result<std::vector<Value>> run_op(const OpCall& call, int runs = 1) {
  Node node;
  node.name = "n0";
  node.op_type = call.op;
  for (size_t i = 0; i < call.inputs.size(); ++i) node.inputs.push_back(call.inputs[i] ? "in" + std::to_string(i) : "");
  node.outputs = call.outputs;
  for (const Attribute& a : call.attrs) node.attributes[a.name] = a;
  const KernelDef* def = registry().find("", call.op, call.opset);
  if (!def) return not_implemented("no kernel for ", call.op, " opset ", call.opset);
  std::map<std::string, Tensor> constants;
  KernelInfo info(node, call.opset, constants);
  auto kernel = def->factory(info);
  if (!kernel.is_ok()) return kernel.status();
  ThreadPool pool(call.threads);
  std::vector<Value> out;
  for (int r = 0; r < runs; ++r) {
    TestContext ctx(node, call.inputs, pool);
    Status s = kernel.value()->compute(ctx);
    if (!s.is_ok()) return s;
    out = ctx.outputs();
  }
  return out;
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

// Shape and values within |got - want| <= tol * (1 + |want|).
inline void expect_near(const Tensor& t, const Shape& shape, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  std::vector<double> got = as_doubles(t);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i;
      continue;
    }
    EXPECT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i]))) << "element " << i;
  }
}

}  // namespace tessera::test_aq
