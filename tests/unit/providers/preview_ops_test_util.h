// Runs one kernel of the newest op families (LinearAttention, CausalConvWithState, FlexAttention,
// TfIdfVectorizer, ImageDecoder) without a session, and builds single-node models for the cases
// that need a session (FlexAttention's modifier subgraphs).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compute_test_util.h"
#include "core/float_types.h"
#include "framework/session.h"
#include "providers/cpu/cpu_provider.h"

namespace tessera::test_preview {

using test_compute::attr_f;
using test_compute::attr_floats;
using test_compute::attr_i;
using test_compute::attr_ints;
using test_compute::attr_s;
using test_compute::TestContext;

inline Attribute attr_strings(const std::string& name, std::vector<std::string> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::strings_;
  a.strings = std::move(v);
  return a;
}

inline const KernelRegistry& registry() {
  static const KernelRegistry r = [] {
    KernelRegistry reg;
    register_linear_attention(reg);
    register_causal_conv(reg);
    register_flex_attention(reg);
    register_tfidf_vectorizer(reg);
    register_image_decoder(reg);
    return reg;
  }();
  return r;
}

struct Call {
  std::string op;
  int64_t opset = 27;
  std::vector<std::optional<Tensor>> inputs = {};  // nullopt: omitted optional input
  std::vector<Attribute> attrs = {};
  int outputs = 1;
  int threads = 1;
  std::string domain = {};
};

inline Result<std::vector<Value>> run_op(const Call& call) {
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
  KernelInfo info(node, call.opset, constants);
  TS_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, def->factory(info));
  ThreadPool pool(call.threads);
  TestContext ctx(node, call.inputs, pool);
  TS_RETURN_IF_ERROR(kernel->compute(ctx));
  return std::move(ctx.outputs());
}

// Output k of the call, failing the test on error.
inline Tensor run1(const Call& call, size_t k = 0) {
  auto r = run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok() || r.value().size() <= k || !r.value()[k].is_tensor()) return Tensor();
  return r.value()[k].tensor();
}

inline void expect_error(const Call& call, const std::string& fragment) {
  auto r = run_op(call);
  ASSERT_FALSE(r.is_ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("n0"), std::string::npos) << r.status().message();
}

inline Tensor tf(Shape shape, const std::vector<float>& v) { return Tensor::from_vector<float>(DataType::float32, std::move(shape), v); }
inline Tensor td(Shape shape, const std::vector<double>& v) { return Tensor::from_vector<double>(DataType::float64, std::move(shape), v); }
inline Tensor th(Shape shape, const std::vector<float>& v) {
  std::vector<float16_t> h;
  for (float f : v) h.push_back(float16_t{float_to_half(f)});
  return Tensor::from_vector<float16_t>(DataType::float16, std::move(shape), h);
}

// Deterministic pseudo-random floats in [lo, hi).
inline std::vector<float> noise(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = seed * 2654435761u + 12345u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / static_cast<float>(1u << 24);
  }
  return v;
}

inline double value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::float64: return t.data<double>()[i];
    case DataType::float16: return half_to_float(t.data<float16_t>()[i].bits);
    default: return t.data<float>()[i];
  }
}

// |got - want| <= atol + rtol * |want| element by element, shapes equal.
inline void expect_near(const Tensor& got, const Shape& shape, const std::vector<double>& want, double rtol = 1e-4,
                        double atol = 1e-5) {
  ASSERT_EQ(shape_to_string(got.shape()), shape_to_string(shape));
  ASSERT_EQ(static_cast<size_t>(got.size()), want.size());
  int reported = 0;
  for (int64_t i = 0; i < got.size(); ++i) {
    const double g = value_at(got, i), w = want[static_cast<size_t>(i)];
    const bool ok = (std::isnan(g) && std::isnan(w)) || std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok && reported++ < 5) ADD_FAILURE() << "element " << i << ": got " << g << ", want " << w;
  }
}

// A session over a one-graph model importing the default domain at `opset` and, when given,
// ai.onnx.preview at `preview_opset`.
inline Result<std::unique_ptr<SessionState>> make_session(Graph graph, int64_t opset, int64_t preview_opset = 0) {
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

}  // namespace tessera::test_preview
