// FlexAttention against a double-precision evaluation; the modifier subgraphs run through a
// session (SubgraphRunner needs a graph run).
#include <cmath>
#include <functional>
#include <limits>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

struct FlexShape {
  int64_t B, Hq, Hkv, L, S, E, Ev;
};

using ScoreFn = std::function<double(double)>;

// Y = prob_mod(softmax(score_mod(scale * Q K^T))) V, per (b, h) with GQA head sharing.
std::vector<double> reference(const FlexShape& s, const std::vector<float>& q, const std::vector<float>& k,
                              const std::vector<float>& v, double scale, const ScoreFn& score_mod = nullptr,
                              const ScoreFn& prob_mod = nullptr) {
  std::vector<double> y(static_cast<size_t>(s.B * s.Hq * s.L * s.Ev), 0.0);
  const int64_t group = s.Hq / s.Hkv;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h)
      for (int64_t i = 0; i < s.L; ++i) {
        const int64_t kh = h / group;
        std::vector<double> sc(static_cast<size_t>(s.S));
        double mx = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t j = 0; j < s.S; ++j) {
          double dot = 0;
          for (int64_t t = 0; t < s.E; ++t)
            dot += double(q[((b * s.Hq + h) * s.L + i) * s.E + t]) * k[((b * s.Hkv + kh) * s.S + j) * s.E + t];
          sc[j] = dot * scale;
          if (score_mod) sc[j] = score_mod(sc[j]);
          mx = std::max(mx, sc[j]);
        }
        for (double& x : sc) sum += (x = std::exp(x - mx));
        for (int64_t j = 0; j < s.S; ++j) {
          double p = sc[j] / sum;
          if (prob_mod) p = prob_mod(p);
          for (int64_t t = 0; t < s.Ev; ++t)
            y[((b * s.Hq + h) * s.L + i) * s.Ev + t] += p * v[((b * s.Hkv + kh) * s.S + j) * s.Ev + t];
        }
      }
  return y;
}

struct FlexData {
  std::vector<float> q, k, v;
};

FlexData make_data(const FlexShape& s) {
  return {noise(s.B * s.Hq * s.L * s.E, 1), noise(s.B * s.Hkv * s.S * s.E, 2), noise(s.B * s.Hkv * s.S * s.Ev, 3)};
}

OpCall flex_call(const FlexShape& s, const FlexData& d, std::vector<Attribute> attrs = {}, int threads = 1) {
  return {"FlexAttention",
          1,
          {tf({s.B, s.Hq, s.L, s.E}, d.q), tf({s.B, s.Hkv, s.S, s.E}, d.k), tf({s.B, s.Hkv, s.S, s.Ev}, d.v)},
          std::move(attrs),
          1,
          threads,
          "ai.onnx.preview"};
}

TEST(FlexAttention, DefaultScaleGroupedHeadsAndWideValues) {
  const FlexShape s{2, 4, 2, 3, 5, 4, 6};
  const FlexData d = make_data(s);
  Tensor y = run1(flex_call(s, d, {}, 3));
  expect_close(y, {s.B, s.Hq, s.L, s.Ev}, reference(s, d.q, d.k, d.v, 0.5));
}

TEST(FlexAttention, ExplicitScaleAndDouble) {
  const FlexShape s{1, 2, 2, 4, 3, 8, 2};
  const FlexData d = make_data(s);
  Tensor y = run1(flex_call(s, d, {attr_f("scale", 0.2f)}));
  expect_close(y, {s.B, s.Hq, s.L, s.Ev}, reference(s, d.q, d.k, d.v, double(std::sqrt(0.2f)) * std::sqrt(0.2f)));

  OpCall dbl = flex_call(s, d);
  dbl.inputs = {td({s.B, s.Hq, s.L, s.E}, std::vector<double>(d.q.begin(), d.q.end())),
                td({s.B, s.Hkv, s.S, s.E}, std::vector<double>(d.k.begin(), d.k.end())),
                td({s.B, s.Hkv, s.S, s.Ev}, std::vector<double>(d.v.begin(), d.v.end()))};
  Tensor yd = run1(dbl);
  EXPECT_EQ(yd.dtype(), DataType::float64);
  // sqrt(scale) is taken in float even for double inputs, as in the reference.
  const double root = std::sqrt(static_cast<float>(1.0 / std::sqrt(8.0)));
  expect_close(yd, {s.B, s.Hq, s.L, s.Ev}, reference(s, d.q, d.k, d.v, root * root), 1e-9, 1e-12);
}

TEST(FlexAttention, HalfInputs) {
  const FlexShape s{1, 2, 1, 3, 4, 8, 4};
  const FlexData d = make_data(s);
  OpCall call = flex_call(s, d);
  call.inputs = {th({s.B, s.Hq, s.L, s.E}, d.q), th({s.B, s.Hkv, s.S, s.E}, d.k), th({s.B, s.Hkv, s.S, s.Ev}, d.v)};
  Tensor y = run1(call);
  EXPECT_EQ(y.dtype(), DataType::float16);
  expect_close(y, {s.B, s.Hq, s.L, s.Ev}, reference(s, d.q, d.k, d.v, 1 / std::sqrt(8.0)), 1e-2, 2e-3);
}

TEST(FlexAttention, RejectsMismatchedShapes) {
  const FlexShape s{1, 3, 2, 2, 2, 4, 4};
  expect_error(flex_call(s, make_data(s)), "multiple of K/V heads");
  const FlexShape ok{1, 2, 2, 2, 2, 4, 4};
  OpCall bad = flex_call(ok, make_data(ok));
  bad.inputs[1] = tf({1, 2, 2, 3}, noise(12, 9));
  expect_error(bad, "head sizes differ");
}

// ---- modifier subgraphs, through a session ----

TypeInfo float_tensor(std::optional<Shape> shape = std::nullopt) { return tensor_type(DataType::float32, shape); }

// (x) -> op(x, c) with a scalar initializer c, or Identity(c) when op is empty (a wrong shape).
std::shared_ptr<Graph> modifier(const std::string& op, float c) {
  auto g = std::make_shared<Graph>();
  g->name = "mod_" + op;
  g->inputs.push_back({"x", float_tensor()});
  g->outputs.push_back({"x_out", float_tensor()});
  g->initializers["c"] = Tensor::scalar<float>(DataType::float32, c);
  Node n;
  n.name = "mod_node";
  n.op_type = op.empty() ? "Identity" : op;
  n.inputs = op.empty() ? std::vector<std::string>{"c"} : std::vector<std::string>{"x", "c"};
  n.outputs = {"x_out"};
  g->nodes.push_back(std::move(n));
  return g;
}

Result<Tensor> run_with_mods(const FlexShape& s, const FlexData& d, std::shared_ptr<Graph> score_mod,
                             std::shared_ptr<Graph> prob_mod) {
  Graph g;
  g.name = "flex";
  g.inputs = {{"Q", float_tensor(Shape{s.B, s.Hq, s.L, s.E})},
              {"K", float_tensor(Shape{s.B, s.Hkv, s.S, s.E})},
              {"V", float_tensor(Shape{s.B, s.Hkv, s.S, s.Ev})}};
  g.outputs = {{"Y", float_tensor()}};
  Node n;
  n.name = "flex_node";
  n.op_type = "FlexAttention";
  n.domain = "ai.onnx.preview";
  n.inputs = {"Q", "K", "V"};
  n.outputs = {"Y"};
  for (auto& [name, graph] : {std::pair{"score_mod", score_mod}, std::pair{"prob_mod", prob_mod}}) {
    if (!graph) continue;
    Attribute a;
    a.name = name;
    a.type = Attribute::Type::graph_;
    a.g = graph;
    n.attributes[name] = a;
  }
  g.nodes.push_back(std::move(n));
  TS_ASSIGN_OR_RETURN(std::unique_ptr<SessionState> session, make_session(std::move(g), 26, 1));
  Feeds feeds = {{"Q", Value(tf({s.B, s.Hq, s.L, s.E}, d.q))},
                 {"K", Value(tf({s.B, s.Hkv, s.S, s.E}, d.k))},
                 {"V", Value(tf({s.B, s.Hkv, s.S, s.Ev}, d.v))}};
  TS_ASSIGN_OR_RETURN(std::vector<Value> out, session->run(feeds, {}));
  return out[0].tensor();
}

TEST(FlexAttention, ScoreAndProbModifiers) {
  const FlexShape s{1, 2, 1, 3, 4, 4, 2};
  const FlexData d = make_data(s);
  auto r = run_with_mods(s, d, modifier("Mul", 3.0f), modifier("Mul", 0.5f));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_close(r.value(), {s.B, s.Hq, s.L, s.Ev},
               reference(s, d.q, d.k, d.v, 0.5, [](double x) { return 3 * x; }, [](double p) { return 0.5 * p; }));

  // Adding a constant to every score leaves the softmax unchanged.
  auto shifted = run_with_mods(s, d, modifier("Add", 7.0f), nullptr);
  ASSERT_TRUE(shifted.is_ok()) << shifted.status().message();
  expect_close(shifted.value(), {s.B, s.Hq, s.L, s.Ev}, reference(s, d.q, d.k, d.v, 0.5));
}

TEST(FlexAttention, ModifierMustKeepTheShape) {
  const FlexShape s{1, 1, 1, 2, 2, 2, 2};
  auto r = run_with_mods(s, make_data(s), modifier("", 1.0f), nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("score_mod must return one float tensor of shape [1,1,2,2]"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace tessera::kernel_test
