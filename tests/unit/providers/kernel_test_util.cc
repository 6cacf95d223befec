#include "tests/unit/providers/kernel_test_util.h"

#include <cmath>
#include <map>
#include <random>

#include "framework/kernel_registry.h"
#include "providers/cpu/cpu_provider.h"
#include "core/tensor_alloc.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {

namespace {

class TestContext : public KernelContext {
 public:
  TestContext(const Node& node, int64_t opset, std::vector<std::optional<Value>> inputs, ThreadPool& pool)
      : node_(node), opset_(opset), inputs_(std::move(inputs)), outputs_(node.outputs.size()), pool_(pool) {}

  size_t input_count() const override { return inputs_.size(); }
  size_t output_count() const override { return outputs_.size(); }
  const Value* input_value(size_t i) const override {
    return i < inputs_.size() && inputs_[i].has_value() && !inputs_[i]->is_absent() ? &*inputs_[i] : nullptr;
  }
  Tensor& allocate_output(size_t i, DataType dtype, const Shape& shape) override {
    outputs_[i] = Value(allocate_or_throw(dtype, shape));
    return outputs_[i].tensor();
  }
  void set_output(size_t i, Value value) override { outputs_[i] = std::move(value); }
  bool output_requested(size_t i) const override { return i < node_.outputs.size() && !node_.outputs[i].empty(); }
  ThreadPool& thread_pool() const override { return pool_; }
  const Node& node() const override { return node_; }
  int64_t opset() const override { return opset_; }
  std::vector<Value>& outputs() { return outputs_; }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<std::optional<Value>> inputs_;
  std::vector<Value> outputs_;
  ThreadPool& pool_;
};

const KernelRegistry& registry() {
  static const CpuExecutionProvider provider;
  return provider.kernels();
}

bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

void expect_all_close(const std::vector<double>& got, const std::vector<double>& want, double rtol, double atol) {
  ASSERT_EQ(got.size(), want.size());
  constexpr int kReported = 10;
  int failures = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (close(got[i], want[i], rtol, atol)) continue;
    if (++failures <= kReported)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i] << " (rtol " << rtol << ", atol "
                    << atol << ")";
  }
  if (failures > kReported) ADD_FAILURE() << failures << " of " << want.size() << " elements differ";
}

}  // namespace

// The IR's builders (graph/graph.h) under the short names the kernel tests use.
Attribute attr_i(const std::string& name, int64_t v) { return int_attr(name, v); }
Attribute attr_f(const std::string& name, float v) { return float_attr(name, v); }
Attribute attr_s(const std::string& name, const std::string& v) { return string_attr(name, v); }
Attribute attr_ints(const std::string& name, std::vector<int64_t> v) { return ints_attr(name, std::move(v)); }
Attribute attr_floats(const std::string& name, std::vector<float> v) { return floats_attr(name, std::move(v)); }
Attribute attr_strings(const std::string& name, std::vector<std::string> v) { return strings_attr(name, std::move(v)); }
Attribute attr_t(const std::string& name, Tensor t) { return tensor_attr(name, std::move(t)); }

Tensor tf(Shape shape, const std::vector<float>& v) { return make<float>(DataType::float32, std::move(shape), v); }
Tensor td(Shape shape, const std::vector<double>& v) { return make<double>(DataType::float64, std::move(shape), v); }
Tensor ti32(Shape shape, const std::vector<int32_t>& v) { return make<int32_t>(DataType::int32, std::move(shape), v); }
Tensor ti64(Shape shape, const std::vector<int64_t>& v) { return make<int64_t>(DataType::int64, std::move(shape), v); }
Tensor ts(Shape shape, const std::vector<std::string>& v) {
  return make<std::string>(DataType::string, std::move(shape), v);
}
Tensor tb(Shape shape, const std::vector<bool>& v) {
  Tensor t = zeros(DataType::boolean, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
Tensor th(Shape shape, const std::vector<float>& v) {
  std::vector<float16_t> h;
  for (float f : v) h.push_back(float16_t{float_to_half(f)});
  return make<float16_t>(DataType::float16, std::move(shape), h);
}
Tensor tbf(Shape shape, const std::vector<float>& v) {
  std::vector<bfloat16_t> h;
  for (float f : v) h.push_back(bfloat16_t{float_to_bfloat16(f)});
  return make<bfloat16_t>(DataType::bfloat16, std::move(shape), h);
}
Tensor iota_f(Shape shape) {
  Tensor t = zeros(DataType::float32, std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

std::vector<float> noise(int64_t n, uint32_t seed, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = seed * 2654435761u + 12345u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / static_cast<float>(1u << 24);
  }
  return v;
}
Tensor random_f(Shape shape, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t = zeros(DataType::float32, std::move(shape));
  for (float& v : t.span<float>()) v = dist(gen);
  return t;
}

std::vector<bool> bools_of(const Tensor& t) { return std::vector<bool>(t.data<bool>(), t.data<bool>() + t.size()); }
double value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::float32: return t.data<float>()[i];
    case DataType::float64: return t.data<double>()[i];
    case DataType::float16: return half_to_float(t.data<float16_t>()[i].bits);
    case DataType::bfloat16: return bfloat16_to_float(t.data<bfloat16_t>()[i].bits);
    case DataType::int64: return static_cast<double>(t.data<int64_t>()[i]);
    case DataType::int32: return t.data<int32_t>()[i];
    case DataType::uint8: return t.data<uint8_t>()[i];
    case DataType::boolean: return t.data<bool>()[i] ? 1 : 0;
    default: ADD_FAILURE() << "no numeric reading of " << dtype_name(t.dtype()); return NAN;
  }
}
std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) v[static_cast<size_t>(i)] = value_at(t, i);
  return v;
}
std::vector<float> floats_of(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) v[static_cast<size_t>(i)] = static_cast<float>(value_at(t, i));
  return v;
}

Outputs::Outputs(int count) {
  for (int i = 0; i < count; ++i) names.push_back("out" + std::to_string(i));
}

Result<std::vector<Value>> run_op(const OpCall& call, int runs) {
  Node node;
  node.name = "n0";
  node.op_type = call.op;
  node.domain = call.domain;
  for (size_t i = 0; i < call.inputs.size(); ++i) node.inputs.push_back(call.inputs[i] ? "in" + std::to_string(i) : "");
  node.outputs = call.outputs.names;
  for (const Attribute& a : call.attrs) node.attributes[a.name] = a;
  const KernelDef* def = registry().find(call.domain, call.op, call.opset);
  if (!def) return not_implemented("no kernel for ", call.op, " opset ", call.opset);
  std::map<std::string, Tensor> constants;
  for (size_t i : call.constant_inputs)
    if (i < call.inputs.size() && call.inputs[i] && call.inputs[i]->is_tensor())
      constants[node.inputs[i]] = call.inputs[i]->tensor();
  KernelInfo info(node, call.opset, constants);
  TS_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, def->factory(info));
  ThreadPool pool(call.threads);
  std::vector<Value> outputs;
  for (int r = 0; r < runs; ++r) {
    TestContext ctx(node, call.opset, call.inputs, pool);
    TS_RETURN_IF_ERROR(kernel->compute(ctx));
    outputs = std::move(ctx.outputs());
  }
  return outputs;
}

Tensor run1(const OpCall& call, size_t k) {
  auto r = run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok() || r.value().size() <= k || !r.value()[k].is_tensor()) return Tensor();
  return r.value()[k].tensor();
}

const Value& first_output(const Result<std::vector<Value>>& r) {
  static const Value empty;
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value()[0] : empty;
}

void expect_error(const OpCall& call, const std::string& fragment) {
  auto r = run_op(call);
  ASSERT_FALSE(r.is_ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("n0"), std::string::npos) << r.status().message();
}

void expect_shape(const Tensor& t, DataType dtype, const Shape& shape) {
  EXPECT_EQ(t.dtype(), dtype);
  EXPECT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
}
void expect_f(const Tensor& t, const Shape& shape, const std::vector<float>& want) {
  ASSERT_EQ(t.dtype(), DataType::float32);
  expect_tensor<float>(Value(t), shape, want);
}
void expect_i64(const Tensor& t, const Shape& shape, const std::vector<int64_t>& want) {
  ASSERT_EQ(t.dtype(), DataType::int64);
  expect_tensor<int64_t>(Value(t), shape, want);
}

void expect_near(const Tensor& got, const Shape& shape, const std::vector<double>& want, double tol) {
  expect_close(got, shape, want, tol, tol);
}
void expect_close(const Tensor& got, const Shape& shape, const std::vector<double>& want, double rtol, double atol) {
  ASSERT_EQ(shape_to_string(got.shape()), shape_to_string(shape));
  expect_all_close(as_doubles(got), want, rtol, atol);
}
void expect_f_close(const Tensor& got, const Shape& shape, const std::vector<float>& want, double rtol, double atol) {
  ASSERT_EQ(got.dtype(), DataType::float32);
  expect_close(got, shape, std::vector<double>(want.begin(), want.end()), rtol, atol);
}
void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, double rtol, double atol) {
  expect_all_close(std::vector<double>(got.begin(), got.end()), std::vector<double>(want.begin(), want.end()), rtol,
                   atol);
}

TypeInfo tensor_type(DataType dtype, std::optional<Shape> shape) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::tensor;
  t.elem_type = dtype;
  if (shape) {
    t.shape.emplace();
    for (int64_t d : *shape) t.shape->push_back(Dim{d, ""});
  }
  return t;
}

Result<std::unique_ptr<SessionState>> make_session(Graph graph, int64_t opset, int64_t preview_opset) {
  Model model;
  model.ir_version = 10;
  model.opset_imports[""] = opset;
  if (preview_opset > 0) model.opset_imports["ai.onnx.preview"] = preview_opset;
  model.source = "test:" + graph.name;
  model.graph = std::move(graph);
  std::vector<std::unique_ptr<ExecutionProvider>> eps;
  eps.push_back(std::make_unique<CpuExecutionProvider>());
  SessionOptions options;
  options.intra_op_threads = 2;
  return SessionState::create(std::move(model), std::move(eps), options);
}

}  // namespace tessera::kernel_test
