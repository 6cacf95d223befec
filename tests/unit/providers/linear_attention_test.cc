// LinearAttention against a direct double-precision evaluation of the recurrence in the spec.
#include <cmath>
#include <string>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

struct LaCase {
  int64_t B = 2, T = 3, Hq = 2, Hkv = 2, dk = 4, dv = 3;
  std::string rule = "gated_delta";
  bool per_key_decay = false;
  bool beta_scalar = false;  // beta of width 1, shared by all kv heads
  bool past = false;
  float scale = 0.0f;
};

struct LaData {
  std::vector<float> q, k, v, past, decay, beta;
};

LaData make_data(const LaCase& c) {
  LaData d;
  d.q = noise(c.B * c.T * c.Hq * c.dk, 1);
  d.k = noise(c.B * c.T * c.Hkv * c.dk, 2, -0.5f, 0.5f);
  d.v = noise(c.B * c.T * c.Hkv * c.dv, 3);
  d.past = noise(c.B * c.Hkv * c.dk * c.dv, 4, -0.2f, 0.2f);
  d.decay = noise(c.B * c.T * c.Hkv * (c.per_key_decay ? c.dk : 1), 5, -0.5f, 0.0f);
  d.beta = noise(c.B * c.T * (c.beta_scalar ? 1 : c.Hkv), 6, 0.0f, 1.0f);
  return d;
}

// Returns {output (B, T, Hq*dv), state (B, Hkv, dk, dv)}.
std::pair<std::vector<double>, std::vector<double>> reference(const LaCase& c, const LaData& d) {
  const bool gated = c.rule == "gated" || c.rule == "gated_delta";
  const bool delta = c.rule == "delta" || c.rule == "gated_delta";
  const double scale = c.scale != 0.0f ? c.scale : 1.0 / std::sqrt(static_cast<double>(c.dk));
  std::vector<double> out(static_cast<size_t>(c.B * c.T * c.Hq * c.dv), 0.0);
  std::vector<double> S(static_cast<size_t>(c.B * c.Hkv * c.dk * c.dv), 0.0);
  if (c.past) S.assign(d.past.begin(), d.past.end());
  const int64_t group = c.Hq / c.Hkv, dw = c.per_key_decay ? c.Hkv * c.dk : c.Hkv, bw = c.beta_scalar ? 1 : c.Hkv;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t t = 0; t < c.T; ++t)
      for (int64_t h = 0; h < c.Hkv; ++h) {
        double* s = S.data() + (b * c.Hkv + h) * c.dk * c.dv;
        const float* k = d.k.data() + ((b * c.T + t) * c.Hkv + h) * c.dk;
        std::vector<double> v(d.v.begin() + ((b * c.T + t) * c.Hkv + h) * c.dv,
                              d.v.begin() + ((b * c.T + t) * c.Hkv + h + 1) * c.dv);
        if (gated)
          for (int64_t i = 0; i < c.dk; ++i)
            for (int64_t m = 0; m < c.dv; ++m)
              s[i * c.dv + m] *= std::exp(d.decay[(b * c.T + t) * dw + (c.per_key_decay ? h * c.dk + i : h)]);
        if (delta) {
          const double beta = d.beta[(b * c.T + t) * bw + (c.beta_scalar ? 0 : h)];
          for (int64_t m = 0; m < c.dv; ++m) {
            double r = 0;
            for (int64_t i = 0; i < c.dk; ++i) r += s[i * c.dv + m] * k[i];
            v[m] = beta * (v[m] - r);
          }
        }
        for (int64_t i = 0; i < c.dk; ++i)
          for (int64_t m = 0; m < c.dv; ++m) s[i * c.dv + m] += k[i] * v[m];
        for (int64_t g = 0; g < group; ++g) {
          const int64_t qh = h * group + g;
          const float* q = d.q.data() + ((b * c.T + t) * c.Hq + qh) * c.dk;
          for (int64_t m = 0; m < c.dv; ++m) {
            double o = 0;
            for (int64_t i = 0; i < c.dk; ++i) o += q[i] * s[i * c.dv + m];
            out[((b * c.T + t) * c.Hq + qh) * c.dv + m] = scale * o;
          }
        }
      }
  return {out, S};
}

OpCall make_call(const LaCase& c, const LaData& d, int threads = 1) {
  const bool gated = c.rule == "gated" || c.rule == "gated_delta";
  const bool delta = c.rule == "delta" || c.rule == "gated_delta";
  OpCall call{"LinearAttention", 27,
              {tf({c.B, c.T, c.Hq * c.dk}, d.q), tf({c.B, c.T, c.Hkv * c.dk}, d.k), tf({c.B, c.T, c.Hkv * c.dv}, d.v),
               c.past ? std::optional<Tensor>(tf({c.B, c.Hkv, c.dk, c.dv}, d.past)) : std::nullopt,
               gated ? std::optional<Tensor>(tf({c.B, c.T, c.Hkv * (c.per_key_decay ? c.dk : 1)}, d.decay)) : std::nullopt,
               delta ? std::optional<Tensor>(tf({c.B, c.T, c.beta_scalar ? 1 : c.Hkv}, d.beta)) : std::nullopt},
              {attr_i("q_num_heads", c.Hq), attr_i("kv_num_heads", c.Hkv), attr_s("update_rule", c.rule)},
              2,
              threads};
  if (c.scale != 0.0f) call.attrs.push_back(attr_f("scale", c.scale));
  return call;
}

void check(const LaCase& c, int threads = 1) {
  const LaData d = make_data(c);
  auto r = run_op(make_call(c, d, threads));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  auto [want_out, want_state] = reference(c, d);
  expect_close(r.value()[0].tensor(), {c.B, c.T, c.Hq * c.dv}, want_out);
  expect_close(r.value()[1].tensor(), {c.B, c.Hkv, c.dk, c.dv}, want_state);
}

TEST(LinearAttention, EveryUpdateRule) {
  for (const char* rule : {"linear", "gated", "delta", "gated_delta"}) {
    SCOPED_TRACE(rule);
    LaCase c;
    c.rule = rule;
    check(c);
  }
}

TEST(LinearAttention, PerKeyDecayScalarBetaAndPastState) {
  LaCase c;
  c.per_key_decay = true;
  c.beta_scalar = true;
  c.past = true;
  c.scale = 0.3f;
  check(c);
}

TEST(LinearAttention, GroupedAndMultiQueryHeadsOnSeveralThreads) {
  LaCase gqa;
  gqa.Hq = 4;
  gqa.Hkv = 2;
  gqa.past = true;
  check(gqa, 3);
  LaCase mqa;
  mqa.Hq = 3;
  mqa.Hkv = 1;
  mqa.dv = 5;
  mqa.T = 5;
  check(mqa, 2);
}

TEST(LinearAttention, PrefillThenDecodeMatchesOnePass) {
  LaCase whole;
  whole.T = 4;
  const LaData d = make_data(whole);
  auto full = run_op(make_call(whole, d));
  ASSERT_TRUE(full.is_ok()) << full.status().message();

  // The first 3 tokens, then the last one fed with the state the first call returned.
  auto slice_t = [&](const std::vector<float>& x, int64_t width, int64_t t0, int64_t t1) {
    std::vector<float> o;
    for (int64_t b = 0; b < whole.B; ++b)
      o.insert(o.end(), x.begin() + (b * whole.T + t0) * width, x.begin() + (b * whole.T + t1) * width);
    return o;
  };
  auto part = [&](int64_t t0, int64_t t1, const std::optional<Tensor>& past) {
    const int64_t T = t1 - t0;
    OpCall call{"LinearAttention", 27,
                {tf({whole.B, T, whole.Hq * whole.dk}, slice_t(d.q, whole.Hq * whole.dk, t0, t1)),
                 tf({whole.B, T, whole.Hkv * whole.dk}, slice_t(d.k, whole.Hkv * whole.dk, t0, t1)),
                 tf({whole.B, T, whole.Hkv * whole.dv}, slice_t(d.v, whole.Hkv * whole.dv, t0, t1)), past,
                 tf({whole.B, T, whole.Hkv}, slice_t(d.decay, whole.Hkv, t0, t1)),
                 tf({whole.B, T, whole.Hkv}, slice_t(d.beta, whole.Hkv, t0, t1))},
                {attr_i("q_num_heads", whole.Hq), attr_i("kv_num_heads", whole.Hkv)},
                2};
    return run_op(call);
  };
  auto first = part(0, 3, std::nullopt);
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  auto second = part(3, 4, first.value()[1].tensor());
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  const Tensor& final_state = full.value()[1].tensor();
  std::vector<double> want(final_state.data<float>(), final_state.data<float>() + final_state.size());
  expect_close(second.value()[1].tensor(), final_state.shape(), want);
  const Tensor& y = full.value()[0].tensor();
  std::vector<float> last = slice_t(std::vector<float>(y.data<float>(), y.data<float>() + y.size()), whole.Hq * whole.dv, 3, 4);
  expect_close(second.value()[0].tensor(), {whole.B, 1, whole.Hq * whole.dv}, std::vector<double>(last.begin(), last.end()));
}

TEST(LinearAttention, HalfInputsGiveHalfOutputsAndState) {
  LaCase c;
  c.rule = "gated";
  const LaData d = make_data(c);
  OpCall call = make_call(c, d);
  call.inputs[0] = th({c.B, c.T, c.Hq * c.dk}, d.q);
  call.inputs[1] = th({c.B, c.T, c.Hkv * c.dk}, d.k);
  call.inputs[2] = th({c.B, c.T, c.Hkv * c.dv}, d.v);
  call.inputs[4] = th({c.B, c.T, c.Hkv}, d.decay);
  auto r = run_op(call);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value()[0].tensor().dtype(), DataType::float16);
  EXPECT_EQ(r.value()[1].tensor().dtype(), DataType::float16);
  auto [want_out, want_state] = reference(c, d);
  expect_close(r.value()[0].tensor(), {c.B, c.T, c.Hq * c.dv}, want_out, 1e-2, 1e-2);
}

TEST(LinearAttention, RejectsInputsTheRuleDoesNotTake) {
  LaCase c;
  c.rule = "linear";
  const LaData d = make_data(c);
  OpCall call = make_call(c, d);
  call.inputs[4] = tf({c.B, c.T, c.Hkv}, d.decay);
  expect_error(call, "forbids the decay input");

  LaCase g;
  const LaData gd = make_data(g);
  OpCall missing_beta = make_call(g, gd);
  missing_beta.inputs.resize(5);
  expect_error(missing_beta, "requires the beta input");

  OpCall bad_heads = make_call(g, gd);
  bad_heads.attrs[0] = attr_i("q_num_heads", 3);
  expect_error(bad_heads, "multiple of kv_num_heads");

  OpCall bad_past = make_call(g, gd);
  bad_past.inputs[3] = tf({g.B, g.Hkv, g.dk, g.dv + 1}, std::vector<float>(g.B * g.Hkv * g.dk * (g.dv + 1)));
  expect_error(bad_past, "past_state must have shape");
}

}  // namespace
}  // namespace tessera::kernel_test
