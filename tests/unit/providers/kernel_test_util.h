// Shared harness for the CPU kernel unit tests: tensors and attributes from plain values, one
// kernel run without a session (any domain and opset, inputs optionally constant, a chosen
// thread count), closeness checks, and a session over a one-graph model for the kernels that
// need one (subgraph attributes). Kernels come from the CPU provider's own registry.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/float_types.h"
#include "framework/kernel.h"
#include "framework/session.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {

// ---- attributes ----

Attribute attr_i(const std::string& name, int64_t v);
Attribute attr_f(const std::string& name, float v);
Attribute attr_s(const std::string& name, const std::string& v);
Attribute attr_ints(const std::string& name, std::vector<int64_t> v);
Attribute attr_floats(const std::string& name, std::vector<float> v);
Attribute attr_strings(const std::string& name, std::vector<std::string> v);
Attribute attr_t(const std::string& name, Tensor t);

// ---- tensors from values ----

template <class T>
Tensor make(DataType dtype, Shape shape, const std::vector<T>& v) {
  return tensor_of<T>(dtype, std::move(shape), v);
}
Tensor tf(Shape shape, const std::vector<float>& v);
Tensor td(Shape shape, const std::vector<double>& v);
Tensor ti32(Shape shape, const std::vector<int32_t>& v);
Tensor ti64(Shape shape, const std::vector<int64_t>& v);
Tensor tb(Shape shape, const std::vector<bool>& v);
Tensor ts(Shape shape, const std::vector<std::string>& v);
// float16 / bfloat16 tensors from floats (each rounded once).
Tensor th(Shape shape, const std::vector<float>& v);
Tensor tbf(Shape shape, const std::vector<float>& v);
// float32 0, 1, 2, ... in row-major order.
Tensor iota_f(Shape shape);
// Deterministic pseudo-random floats in [lo, hi): a vector (a small LCG), or a float32 tensor
// (std::mt19937 with a uniform distribution).
std::vector<float> noise(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
Tensor random_f(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// ---- values from tensors ----

template <class T>
std::vector<T> values_of(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.size());
}
std::vector<bool> bools_of(const Tensor& t);
// Element i of a float, integer or bool tensor as double (a test failure for other types).
double value_at(const Tensor& t, int64_t i);
std::vector<double> as_doubles(const Tensor& t);
std::vector<float> floats_of(const Tensor& t);

// ---- one kernel, no session ----

// The node's outputs: a count (named out0, out1, ...) or names, where "" leaves an optional
// output unrequested.
struct Outputs {
  Outputs(int count = 1);  // implicit: a plain count reads best at call sites
  Outputs(std::initializer_list<std::string> names) : names(names) {}
  std::vector<std::string> names;
};

struct OpCall {
  OpCall(std::string op_type, int64_t opset_version, std::vector<std::optional<Value>> in = {},
         std::vector<Attribute> attributes = {}, Outputs outs = 1, int thread_count = 1, std::string op_domain = {})
      : op(std::move(op_type)), opset(opset_version), inputs(std::move(in)), attrs(std::move(attributes)),
        outputs(std::move(outs)), threads(thread_count), domain(std::move(op_domain)) {}
  std::string op;
  int64_t opset;
  std::vector<std::optional<Value>> inputs;  // nullopt: omitted optional input
  std::vector<Attribute> attrs;
  Outputs outputs;
  int threads;
  std::string domain;                     // "" is the default ONNX domain
  std::vector<size_t> constant_inputs{};  // inputs handed to the factory as initializers (prepacking)
};

// Builds the node "n0" and its kernel once, then computes `runs` times with fresh contexts;
// returns the outputs of the last run, or the first error.
Result<std::vector<Value>> run_op(const OpCall& call, int runs = 1);
// Output k as a tensor, failing the test on error.
Tensor run1(const OpCall& call, size_t k = 0);
// Output 0 of a run, failing the test on error.
const Value& first_output(const Result<std::vector<Value>>& r);
// Expects the call to fail with a message containing `fragment` and naming the node.
void expect_error(const OpCall& call, const std::string& fragment);

// ---- checks ----

void expect_shape(const Tensor& t, DataType dtype, const Shape& shape);

// Exactly `want`, element by element.
template <class T>
void expect_tensor(const Value& v, const Shape& shape, const std::vector<T>& want) {
  ASSERT_TRUE(v.is_tensor());
  const Tensor& t = v.tensor();
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  ASSERT_EQ(t.size(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t.data<T>()[i], want[i]) << "element " << i;
}
void expect_f(const Tensor& t, const Shape& shape, const std::vector<float>& want);    // float32, exact
void expect_i64(const Tensor& t, const Shape& shape, const std::vector<int64_t>& want);  // int64, exact

// In all the closeness checks a NaN matches only NaN and an infinity only itself.
// |got - want| <= tol * (1 + |want|).
void expect_near(const Tensor& got, const Shape& shape, const std::vector<double>& want, double tol = 1e-5);
// |got - want| <= atol + rtol * |want|.
void expect_close(const Tensor& got, const Shape& shape, const std::vector<double>& want, double rtol = 1e-4,
                  double atol = 1e-5);
// expect_close for a float32 result.
void expect_f_close(const Tensor& got, const Shape& shape, const std::vector<float>& want, double rtol = 1e-4,
                    double atol = 1e-5);
// expect_close over plain vectors (tighter defaults).
void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, double rtol = 1e-5,
                     double atol = 1e-6);

// ---- sessions ----

TypeInfo tensor_type(DataType dtype, std::optional<Shape> shape = std::nullopt);
// A session with the CPU provider over a model importing the default domain at `opset` and,
// when given, ai.onnx.preview at `preview_opset`.
Result<std::unique_ptr<SessionState>> make_session(Graph graph, int64_t opset, int64_t preview_opset = 0);

}  // namespace tessera::kernel_test
