// The finite-difference check of every registered gradient builder: for each case, a one-node
// model's gradient graph (append_gradients, seeded with random output gradients R) is compared
// with the central difference of L = sum(R * y) at step 1e-3, in float (max error 1e-3) and
// double (1e-6). A builder without a case fails RegistryCoverage.
#include <cmath>
#include <map>
#include <set>

#include "graph/shape_inference.h"
#include "tests/unit/graph/graph_builders.h"
#include "tests/unit/training/gradient_test_util.h"
#include "training/gradient_graph.h"
#include "training/gradient_registry.h"

namespace tessera {
namespace {

// The first four are differentiated graph inputs; the rest initializers (positive_constant in
// the checked type).
enum class Fill { uniform, positive, away_from_zero, wide, int64_constant, bool_constant, float32_constant, positive_constant };

struct In {
  std::vector<int64_t> shape;
  Fill fill = Fill::uniform;
  std::vector<int64_t> ints = {};  // int64_constant / bool_constant contents; float32_constant: hundredths
};

struct GradCase {
  std::string name;
  std::string op;
  std::vector<In> inputs;
  std::vector<Attribute> attrs = {};
  size_t outputs = 1;
  int64_t opset = 17;
  bool cast_to_checked_type = false;  // Cast: `to` is the type being checked
};

In uniform(std::vector<int64_t> shape) { return In{std::move(shape)}; }
In positive(std::vector<int64_t> shape) { return In{std::move(shape), Fill::positive}; }
// [-4, 4): a normalization's third derivatives fall with the variance, keeping the central
// difference's truncation error under the double tolerance.
In wide(std::vector<int64_t> shape) { return In{std::move(shape), Fill::wide}; }
In away(std::vector<int64_t> shape) { return In{std::move(shape), Fill::away_from_zero}; }
In ints(std::vector<int64_t> values) { return In{{static_cast<int64_t>(values.size())}, Fill::int64_constant, values}; }
In int_tensor(std::vector<int64_t> shape, std::vector<int64_t> values) { return In{std::move(shape), Fill::int64_constant, std::move(values)}; }
In condition(std::vector<int64_t> shape, std::vector<int64_t> values) { return In{std::move(shape), Fill::bool_constant, std::move(values)}; }
In positive_constant(std::vector<int64_t> shape) { return In{std::move(shape), Fill::positive_constant}; }
In hundredths(int64_t value) { return In{{}, Fill::float32_constant, {value}}; }  // a float scalar constant

const std::vector<GradCase>& cases() {
  static const std::vector<GradCase> all = {
      {"add_broadcast", "Add", {uniform({2, 3}), uniform({3})}},
      {"sub_broadcast", "Sub", {uniform({2, 3}), uniform({2, 1})}},
      {"mul_broadcast", "Mul", {uniform({3}), uniform({2, 3})}},
      {"div_broadcast", "Div", {uniform({2, 3}), positive({1, 3})}},
      {"neg", "Neg", {uniform({2, 3})}},
      {"pow", "Pow", {positive({2, 3}), uniform({3})}},
      {"sqrt", "Sqrt", {positive({2, 3})}},
      {"exp", "Exp", {uniform({2, 3})}},
      {"log", "Log", {positive({2, 3})}},
      {"where", "Where", {condition({2, 3}, {1, 0, 0, 1, 1, 0}), uniform({2, 3}), uniform({3})}},
      {"relu", "Relu", {away({2, 3})}},
      {"abs", "Abs", {away({2, 3})}},
      {"sigmoid", "Sigmoid", {uniform({2, 3})}},
      {"tanh", "Tanh", {uniform({2, 3})}},
      {"erf", "Erf", {uniform({2, 3})}},
      {"softmax", "Softmax", {uniform({2, 3})}},
      {"softmax_axis1", "Softmax", {uniform({2, 3, 2})}, {int_attr("axis", 1)}},
      {"softmax_opset12_coerced", "Softmax", {uniform({2, 3, 2})}, {int_attr("axis", 1)}, 1, 12},
      {"log_softmax", "LogSoftmax", {uniform({2, 3})}},
      {"matmul", "MatMul", {uniform({2, 3}), uniform({3, 2})}},
      {"matmul_batched_broadcast", "MatMul", {uniform({2, 2, 3}), uniform({3, 2})}},
      {"gemm", "Gemm", {uniform({2, 3}), uniform({3, 2}), uniform({1, 2})}},
      {"gemm_transposed_b", "Gemm", {uniform({2, 3}), uniform({2, 3}), uniform({2})}, {int_attr("transB", 1)}},
      {"gemm_transposed_a_scaled", "Gemm", {uniform({3, 2}), uniform({3, 2}), uniform({1, 2})},
       {int_attr("transA", 1), float_attr("alpha", 1.5f)}},
      {"gemm_transposed_scaled", "Gemm", {uniform({3, 2}), uniform({2, 3}), uniform({2})},
       {int_attr("transA", 1), int_attr("transB", 1), float_attr("alpha", 0.5f), float_attr("beta", 2.0f)}},
      {"identity", "Identity", {uniform({2, 3})}},
      {"cast", "Cast", {uniform({2, 3})}, {}, 1, 17, true},
      {"reshape", "Reshape", {uniform({2, 3}), ints({3, 2})}},
      {"flatten", "Flatten", {uniform({2, 3, 2})}, {int_attr("axis", 2)}},
      {"squeeze", "Squeeze", {uniform({2, 1, 3}), ints({1})}},
      {"unsqueeze", "Unsqueeze", {uniform({2, 3}), ints({1})}},
      {"transpose", "Transpose", {uniform({2, 3, 2})}, {ints_attr("perm", {2, 0, 1})}},
      {"concat", "Concat", {uniform({2, 3}), uniform({2, 1})}, {int_attr("axis", 1)}},
      {"split", "Split", {uniform({2, 4}), ints({1, 3})}, {int_attr("axis", 1)}, 2},
      {"reduce_sum_axis", "ReduceSum", {uniform({2, 3, 2}), ints({-2})}, {int_attr("keepdims", 0)}},
      {"reduce_sum_all_keepdims", "ReduceSum", {uniform({2, 3})}},
      {"reduce_mean", "ReduceMean", {uniform({2, 3, 2})}, {ints_attr("axes", {0, 2}), int_attr("keepdims", 0)}},
      {"softmax_cross_entropy_mean", "SoftmaxCrossEntropyLoss", {uniform({3, 4}), int_tensor({3}, {0, 3, 1})}},
      {"softmax_cross_entropy_weighted_ignore", "SoftmaxCrossEntropyLoss",
       {uniform({2, 3, 2}), int_tensor({2, 2}, {0, 2, 1, 2}), positive_constant({3})},
       {int_attr("ignore_index", 1)}},
      {"softmax_cross_entropy_sum", "SoftmaxCrossEntropyLoss", {uniform({3, 4}), int_tensor({3}, {2, 0, 1})},
       {string_attr("reduction", "sum")}},
      {"nll_loss_none_weighted", "NegativeLogLikelihoodLoss", {uniform({3, 4}), int_tensor({3}, {1, 3, 0}), positive_constant({4})},
       {string_attr("reduction", "none")}},
      {"conv_strided_padded", "Conv", {uniform({1, 2, 4, 4}), uniform({3, 2, 2, 2}), uniform({3})},
       {ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 0, 0})}},
      {"conv_dilated", "Conv", {uniform({1, 1, 5, 5}), uniform({2, 1, 2, 2})}, {ints_attr("dilations", {2, 2})}},
      {"conv_grouped_batch", "Conv", {uniform({2, 4, 3, 3}), uniform({4, 2, 2, 2})},
       {int_attr("group", 2), ints_attr("pads", {1, 0, 0, 1})}},
      {"max_pool_opset_12", "MaxPool", {uniform({2, 2, 4, 4})}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})},
       1, 12},
      {"max_pool_overlapping", "MaxPool", {uniform({1, 2, 4, 4})},
       {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {1, 1}), ints_attr("pads", {1, 1, 1, 1})}},
      {"average_pool", "AveragePool", {uniform({1, 2, 4, 4})}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})}},
      {"average_pool_padded", "AveragePool", {uniform({1, 1, 3, 3})},
       {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1}), int_attr("count_include_pad", 1)}},
      {"batch_norm_training", "BatchNormalization",
       {wide({3, 2, 2}), uniform({2}), uniform({2}), positive_constant({2}), positive_constant({2})},
       {int_attr("training_mode", 1)}, 1, 15},
      {"batch_norm_training_spatial", "BatchNormalization",
       {wide({2, 3, 2, 3}), uniform({3}), uniform({3}), positive_constant({3}), positive_constant({3})},
       {int_attr("training_mode", 1), float_attr("epsilon", 1e-3f)}, 1, 15},
      {"batch_norm_inference", "BatchNormalization",
       {uniform({2, 2, 3}), uniform({2}), uniform({2}), positive_constant({2}), positive_constant({2})}},
      {"global_average_pool", "GlobalAveragePool", {uniform({2, 2, 1, 3})}},
      {"layer_norm", "LayerNormalization", {wide({2, 4}), uniform({4}), uniform({4})}},
      {"layer_norm_two_axes", "LayerNormalization", {wide({2, 2, 3}), uniform({2, 3})}, {int_attr("axis", 1)}},
      {"gather_rows_repeated", "Gather", {uniform({4, 3}), int_tensor({2, 2}, {0, 3, -1, 0})}},
      {"slice", "Slice", {uniform({3, 4}), ints({1, -3}), ints({3, 100}), ints({0, 1})}},
      {"dropout_inference", "Dropout", {uniform({2, 3})}},
      {"dropout_training_mask", "Dropout", {uniform({2, 4}), hundredths(25), condition({}, {1})}, {int_attr("seed", 3)}, 2},
      {"nll_loss_mean", "NegativeLogLikelihoodLoss", {uniform({3, 4}), int_tensor({3}, {1, 3, 0})}},
  };
  return all;
}

bool differentiable(const In& in) {
  return in.fill == Fill::uniform || in.fill == Fill::positive || in.fill == Fill::away_from_zero || in.fill == Fill::wide;
}

// Deterministic values for `in` (float kinds) in `dtype`.
Tensor fill(const In& in, DataType dtype, uint32_t seed) {
  Tensor t = Tensor::create(dtype, in.shape).value();
  uint32_t s = seed * 2654435761u + 7u;
  for (int64_t i = 0; i < t.size(); ++i) {
    s = s * 1664525u + 1013904223u;
    const double u = static_cast<double>(s >> 8) / static_cast<double>(1u << 24);  // [0, 1)
    double v = 2 * u - 1;
    if (in.fill == Fill::positive) v = 1 + u;  // [1, 2): keeps 1/x and log x smooth at the step
    if (in.fill == Fill::away_from_zero) v = (u < 0.5 ? -1 : 1) * (0.2 + u);
    if (in.fill == Fill::wide) v = 8 * u - 4;
    if (dtype == DataType::float64) t.data<double>()[i] = v;
    else t.data<float>()[i] = static_cast<float>(v);
  }
  return t;
}

struct Built {
  Model forward;
  Model gradient;
  std::vector<std::string> xs, ys;
  Feeds feeds;  // the xs' values
  std::vector<Tensor> seeds;  // R per y
};

Built build(const GradCase& c, DataType dtype) {
  Built b;
  Graph g;
  g.name = c.name;
  Node n = node(c.name, c.op, {}, {});
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const In& in = c.inputs[i];
    const std::string name = "in" + std::to_string(i);
    n.inputs.push_back(name);
    if (differentiable(in)) {
      Tensor value = fill(in, dtype, static_cast<uint32_t>(i + 1));
      g.inputs.push_back(tensor_value(name, dtype, in.shape));
      b.xs.push_back(name);
      b.feeds.emplace_back(name, Value(value));
    } else if (in.fill == Fill::positive_constant) {
      g.initializers[name] = fill(In{in.shape, Fill::positive}, dtype, static_cast<uint32_t>(i + 1));
    } else if (in.fill == Fill::float32_constant) {
      g.initializers[name] = Tensor::scalar(DataType::float32, static_cast<float>(in.ints.at(0)) / 100.0f);
    } else if (in.fill == Fill::int64_constant) {
      g.initializers[name] = Tensor::from_vector(DataType::int64, in.shape, in.ints).value();
    } else {
      std::vector<uint8_t> flags(in.ints.begin(), in.ints.end());
      g.initializers[name] = Tensor::from_vector(DataType::boolean, in.shape, flags).value();
    }
  }
  for (size_t k = 0; k < c.outputs; ++k) {
    n.outputs.push_back("y" + std::to_string(k));
    g.outputs.push_back(ValueInfo{n.outputs.back(), {}});
  }
  for (const Attribute& a : c.attrs) n.attributes[a.name] = a;
  if (c.cast_to_checked_type) n.attributes["to"] = int_attr("to", static_cast<int64_t>(dtype));
  g.nodes.push_back(n);
  b.forward = model_with(g, c.opset);
  auto types = infer_types(b.forward.graph, b.forward, {});
  EXPECT_TRUE(types.is_ok()) << types.status().message();
  // The outputs of the checked type carry L; others (Dropout's mask) are not differentiated.
  g.outputs.clear();
  for (const std::string& y : n.outputs)
    if (types.is_ok() && types->count(y) && types->at(y).elem_type == dtype) {
      b.ys.push_back(y);
      g.outputs.push_back(ValueInfo{y, {}});
    }
  b.forward = model_with(g, c.opset);
  Graph with_grads = g;
  GradientRequest request;
  request.ys = b.ys;
  request.xs = b.xs;
  for (size_t k = 0; k < b.ys.size(); ++k) {
    const std::string seed = "dy" + std::to_string(k);
    std::vector<int64_t> dims;
    const TypeInfo* y_type = types.is_ok() && types->count(b.ys[k]) ? &types->at(b.ys[k]) : nullptr;
    if (y_type && y_type->shape)
      for (const Dim& d : *y_type->shape) dims.push_back(d.value);
    else
      ADD_FAILURE() << "the shape of " << b.ys[k] << " is not inferred";
    with_grads.inputs.push_back(tensor_value(seed, dtype, dims));
    request.y_grads.push_back(seed);
    b.seeds.push_back(fill(In{dims}, dtype, static_cast<uint32_t>(100 + k)));
  }
  Model gradient = model_with(with_grads, c.opset);
  auto built = append_gradients(gradient.graph, gradient, request);
  EXPECT_TRUE(built.is_ok()) << built.status().message();
  if (built.is_ok()) {
    gradient.graph.outputs.clear();
    for (const std::string& x_grad : built->x_grads) gradient.graph.outputs.push_back(ValueInfo{x_grad, {}});
  }
  b.gradient = std::move(gradient);
  return b;
}

// L = sum_k sum(R_k * y_k), in double.
double weighted_sum(const std::vector<Value>& ys, const std::vector<Tensor>& seeds) {
  double total = 0;
  for (size_t k = 0; k < ys.size(); ++k)
    for (int64_t i = 0; i < seeds[k].size(); ++i) total += element(seeds[k], i) * element(ys[k].tensor(), i);
  return total;
}

void check(const GradCase& c, DataType dtype) {
  SCOPED_TRACE(c.name + (dtype == DataType::float64 ? " (double)" : " (float)"));
  const double step = 1e-3;
  const double tolerance = dtype == DataType::float64 ? 1e-6 : 1e-3;
  Built b = build(c, dtype);
  auto forward = cpu_session(b.forward);
  auto backward = cpu_session(b.gradient);
  ASSERT_TRUE(forward.is_ok()) << forward.status().message();
  ASSERT_TRUE(backward.is_ok()) << backward.status().message();
  Feeds grad_feeds = b.feeds;
  for (size_t k = 0; k < b.seeds.size(); ++k) grad_feeds.emplace_back("dy" + std::to_string(k), Value(b.seeds[k]));
  auto analytic = (*backward)->run(grad_feeds, {});
  ASSERT_TRUE(analytic.is_ok()) << analytic.status().message();
  ASSERT_EQ(analytic->size(), b.xs.size());

  for (size_t x = 0; x < b.xs.size(); ++x) {
    const Tensor& grad = (*analytic)[x].tensor();
    ASSERT_EQ(grad.shape(), b.feeds[x].second.tensor().shape()) << "gradient of " << b.xs[x];
    double max_error = 0;
    for (int64_t i = 0; i < grad.size(); ++i) {
      // Central difference; the step actually taken is measured after rounding to the type.
      Feeds plus = b.feeds, minus = b.feeds;
      Tensor& xp = plus[x].second.tensor() = b.feeds[x].second.tensor().clone().value();
      Tensor& xm = minus[x].second.tensor() = b.feeds[x].second.tensor().clone().value();
      if (dtype == DataType::float64) {
        xp.data<double>()[i] += step;
        xm.data<double>()[i] -= step;
      } else {
        xp.data<float>()[i] += static_cast<float>(step);
        xm.data<float>()[i] -= static_cast<float>(step);
      }
      auto yp = (*forward)->run(plus, {});
      auto ym = (*forward)->run(minus, {});
      ASSERT_TRUE(yp.is_ok() && ym.is_ok());
      const double numeric = (weighted_sum(*yp, b.seeds) - weighted_sum(*ym, b.seeds)) / (element(xp, i) - element(xm, i));
      max_error = std::max(max_error, std::abs(numeric - element(grad, i)));
      EXPECT_NEAR(element(grad, i), numeric, tolerance) << b.xs[x] << "[" << i << "]";
    }
    ::testing::Test::RecordProperty(c.name + "_" + b.xs[x] + (dtype == DataType::float64 ? "_f64" : "_f32"), std::to_string(max_error));
  }
}

void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

class GradientCheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(GradientCheck, FloatMatchesCentralDifference) { check(GetParam(), DataType::float32); }
TEST_P(GradientCheck, DoubleMatchesCentralDifference) { check(GetParam(), DataType::float64); }

INSTANTIATE_TEST_SUITE_P(Builders, GradientCheck, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) { return info.param.name; });

// Every registered builder has at least one case above.
TEST(GradientCheck, RegistryCoverage) {
  std::set<std::string> checked;
  for (const GradCase& c : cases()) checked.insert(c.op);
  const auto entries = GradientRegistry::builtin().entries();
  EXPECT_GE(entries.size(), 30u);
  for (const GradientEntry& e : entries)
    EXPECT_TRUE(std::string(e.domain).empty() && checked.count(e.op_type)) << "no finite-difference case for " << e.domain << "." << e.op_type;
}

}  // namespace
}  // namespace tessera
