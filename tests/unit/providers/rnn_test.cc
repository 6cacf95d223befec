// RNN, GRU and LSTM against a plain reference written from the spec's equations (double
// precision, one loop per formula), over directions, layouts, sequence_lens, biases, initial
// states, peepholes, clip, linear_before_reset, input_forget and non-default activations; also
// the prepacked-weights and multi-threaded paths.
#include <cmath>
#include <string>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

struct Act {
  std::string name;
  double alpha = 0, beta = 0;
};

double apply(const Act& a, double x) {
  if (a.name == "Sigmoid") return 1 / (1 + std::exp(-x));
  if (a.name == "Tanh") return std::tanh(x);
  if (a.name == "Relu") return std::max(0.0, x);
  if (a.name == "LeakyRelu") return x >= 0 ? x : a.alpha * x;
  if (a.name == "HardSigmoid") return std::min(1.0, std::max(0.0, a.alpha * x + a.beta));
  ADD_FAILURE() << "activation " << a.name;
  return 0;
}

struct Case {
  std::string op = "LSTM";
  std::string direction = "forward";
  int64_t S = 4, B = 3, I = 5, H = 6;
  int layout = 0;
  bool bias = false, lens = false, init = false, peep = false, lbr = false, input_forget = false;
  float clip = 0;
  std::vector<Act> acts;  // empty: defaults
};

int64_t gates(const std::string& op) { return op == "RNN" ? 1 : op == "GRU" ? 3 : 4; }

struct Data {
  Tensor x, w, r, b, seq, h0, c0, p;  // x, h0, c0 in layout 0
};

Data make_data(const Case& c, uint32_t seed) {
  const int64_t D = c.direction == "bidirectional" ? 2 : 1, G = gates(c.op);
  Data d;
  d.x = random_f({c.S, c.B, c.I}, seed);
  d.w = random_f({D, G * c.H, c.I}, seed + 1, -0.6f, 0.6f);
  d.r = random_f({D, G * c.H, c.H}, seed + 2, -0.6f, 0.6f);
  if (c.bias) d.b = random_f({D, 2 * G * c.H}, seed + 3);
  if (c.lens) {
    std::vector<int32_t> v;
    for (int64_t b = 0; b < c.B; ++b) v.push_back(static_cast<int32_t>(std::max<int64_t>(1, c.S - b)));
    d.seq = ti32({c.B}, v);
  }
  if (c.init) {
    d.h0 = random_f({D, c.B, c.H}, seed + 4);
    d.c0 = random_f({D, c.B, c.H}, seed + 5);
  }
  if (c.peep) d.p = random_f({D, 3 * c.H}, seed + 6);
  return d;
}

std::vector<Act> default_acts(const Case& c, int64_t D) {
  std::vector<Act> a = c.acts;
  if (a.empty()) {
    if (c.op == "RNN") a = {{"Tanh"}};
    else if (c.op == "GRU") a = {{"Sigmoid"}, {"Tanh"}};
    else a = {{"Sigmoid"}, {"Tanh"}, {"Tanh"}};
  }
  if (D == 2 && a.size() == static_cast<size_t>(gates(c.op) == 1 ? 1 : gates(c.op) == 3 ? 2 : 3)) {
    std::vector<Act> twice = a;
    twice.insert(twice.end(), a.begin(), a.end());
    a = twice;
  }
  return a;
}

// Outputs Y [S, D, B, H], Y_h and Y_c [D, B, H] in layout 0.
void reference(const Case& c, const Data& d, std::vector<double>& y, std::vector<double>& yh, std::vector<double>& yc) {
  const int64_t D = c.direction == "bidirectional" ? 2 : 1, G = gates(c.op), S = c.S, B = c.B, I = c.I, H = c.H;
  const std::vector<Act> acts = default_acts(c, D);
  const size_t per = acts.size() / static_cast<size_t>(D);
  y.assign(static_cast<size_t>(S * D * B * H), 0.0);
  yh.assign(static_cast<size_t>(D * B * H), 0.0);
  yc.assign(static_cast<size_t>(D * B * H), 0.0);
  auto X = [&](int64_t t, int64_t b, int64_t i) { return static_cast<double>(d.x.data<float>()[(t * B + b) * I + i]); };
  auto clip = [&](double v) { return c.clip > 0 ? std::min<double>(c.clip, std::max<double>(-c.clip, v)) : v; };
  for (int64_t dir = 0; dir < D; ++dir) {
    const bool rev = dir == 1 || c.direction == "reverse";
    const float* W = d.w.data<float>() + dir * G * H * I;
    const float* R = d.r.data<float>() + dir * G * H * H;
    auto wb = [&](int64_t j) { return c.bias ? static_cast<double>(d.b.data<float>()[dir * 2 * G * H + j]) : 0.0; };
    auto rb = [&](int64_t j) { return c.bias ? static_cast<double>(d.b.data<float>()[dir * 2 * G * H + G * H + j]) : 0.0; };
    auto pe = [&](int64_t j) { return c.peep ? static_cast<double>(d.p.data<float>()[dir * 3 * H + j]) : 0.0; };
    const Act* a = acts.data() + dir * static_cast<int64_t>(per);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> h(static_cast<size_t>(H), 0.0), cs(static_cast<size_t>(H), 0.0);
      if (c.init)
        for (int64_t j = 0; j < H; ++j) {
          h[j] = d.h0.data<float>()[(dir * B + b) * H + j];
          cs[j] = d.c0.data<float>()[(dir * B + b) * H + j];
        }
      const int64_t len = c.lens ? d.seq.data<int32_t>()[b] : S;
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = rev ? len - 1 - s : s;
        // xw[g*H+j] = X W^T + Wb ; hr = H R^T
        std::vector<double> xw(static_cast<size_t>(G * H)), hr(static_cast<size_t>(G * H));
        for (int64_t k = 0; k < G * H; ++k) {
          double s1 = wb(k), s2 = 0;
          for (int64_t i = 0; i < I; ++i) s1 += X(t, b, i) * W[k * I + i];
          for (int64_t i = 0; i < H; ++i) s2 += h[i] * R[k * H + i];
          xw[k] = s1;
          hr[k] = s2;
        }
        std::vector<double> hn(static_cast<size_t>(H));
        if (c.op == "RNN") {
          for (int64_t j = 0; j < H; ++j) hn[j] = apply(a[0], clip(xw[j] + hr[j] + rb(j)));
        } else if (c.op == "GRU") {
          std::vector<double> z(static_cast<size_t>(H)), r(static_cast<size_t>(H));
          for (int64_t j = 0; j < H; ++j) {
            z[j] = apply(a[0], clip(xw[j] + hr[j] + rb(j)));
            r[j] = apply(a[0], clip(xw[H + j] + hr[H + j] + rb(H + j)));
          }
          for (int64_t j = 0; j < H; ++j) {
            double pre;
            if (c.lbr) {
              pre = xw[2 * H + j] + r[j] * (hr[2 * H + j] + rb(2 * H + j));
            } else {
              double rh = 0;
              for (int64_t i = 0; i < H; ++i) rh += r[i] * h[i] * R[(2 * H + j) * H + i];
              pre = xw[2 * H + j] + rh + rb(2 * H + j);
            }
            hn[j] = (1 - z[j]) * apply(a[1], clip(pre)) + z[j] * h[j];
          }
        } else {
          for (int64_t j = 0; j < H; ++j) {
            const double i_g = apply(a[0], clip(xw[j] + hr[j] + rb(j) + pe(j) * cs[j]));
            const double f_g = c.input_forget ? 1 - i_g : apply(a[0], clip(xw[2 * H + j] + hr[2 * H + j] + rb(2 * H + j) + pe(2 * H + j) * cs[j]));
            const double c_g = apply(a[1], clip(xw[3 * H + j] + hr[3 * H + j] + rb(3 * H + j)));
            const double cn = f_g * cs[j] + i_g * c_g;
            const double o_g = apply(a[0], clip(xw[H + j] + hr[H + j] + rb(H + j) + pe(H + j) * cn));
            hn[j] = o_g * apply(a[2], cn);
            cs[j] = cn;
          }
        }
        h = hn;
        for (int64_t j = 0; j < H; ++j) y[((t * D + dir) * B + b) * H + j] = h[j];
      }
      for (int64_t j = 0; j < H; ++j) {
        yh[(dir * B + b) * H + j] = h[j];
        yc[(dir * B + b) * H + j] = cs[j];
      }
    }
  }
}

// Moves batch first: [S, B, ...] -> [B, S, ...] (dims 0 and 1 swapped).
Tensor swap01(const Tensor& t) {
  const int64_t a = t.dim(0), b = t.dim(1), rest = t.size() / (a * b);
  Shape s = t.shape();
  std::swap(s[0], s[1]);
  Tensor out = zeros(DataType::float32, s);
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < rest; ++k) out.data<float>()[(j * a + i) * rest + k] = t.data<float>()[(i * b + j) * rest + k];
  return out;
}

void check(const Case& c, uint32_t seed, bool constant_weights = false, int threads = 1) {
  SCOPED_TRACE(c.op + " " + c.direction + " layout " + std::to_string(c.layout));
  const Data d = make_data(c, seed);
  const int64_t D = c.direction == "bidirectional" ? 2 : 1;
  std::vector<double> y, yh, yc;
  reference(c, d, y, yh, yc);
  const bool l1 = c.layout == 1;
  std::vector<std::optional<Value>> in = {l1 ? swap01(d.x) : d.x, d.w, d.r};
  auto opt = [](const Tensor& t) { return t.defined() ? std::optional<Value>(t) : std::nullopt; };
  in.push_back(opt(d.b));
  in.push_back(opt(d.seq));
  in.push_back(c.init ? opt(l1 ? swap01(d.h0) : d.h0) : std::nullopt);
  if (c.op == "LSTM") {
    in.push_back(c.init ? opt(l1 ? swap01(d.c0) : d.c0) : std::nullopt);
    in.push_back(opt(d.p));
  }
  std::vector<Attribute> attrs = {attr_i("hidden_size", c.H), attr_s("direction", c.direction)};
  if (c.layout) attrs.push_back(attr_i("layout", 1));
  if (c.clip > 0) attrs.push_back(attr_f("clip", c.clip));
  if (c.lbr) attrs.push_back(attr_i("linear_before_reset", 1));
  if (c.input_forget) attrs.push_back(attr_i("input_forget", 1));
  if (!c.acts.empty()) {
    std::vector<std::string> names;
    std::vector<float> alphas, betas;
    for (const Act& a : c.acts) {
      names.push_back(a.name);
      if (a.name == "LeakyRelu" || a.name == "HardSigmoid") alphas.push_back(static_cast<float>(a.alpha));
      if (a.name == "HardSigmoid") betas.push_back(static_cast<float>(a.beta));
    }
    attrs.push_back(attr_strings("activations", names));
    if (!alphas.empty()) attrs.push_back(attr_floats("activation_alpha", alphas));
    if (!betas.empty()) attrs.push_back(attr_floats("activation_beta", betas));
  }
  OpCall call(c.op, 14, in, attrs, c.op == "LSTM" ? 3 : 2);
  if (constant_weights) call.constant_inputs = {1, 2};
  call.threads = threads;
  auto r = run_op(call);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  Tensor gy = r.value()[0].tensor(), gh = r.value()[1].tensor();
  // Compare in layout 0.
  if (l1) {
    // [B, S, D, H] -> [S, B, D, H] -> compare index by index below.
    gy = swap01(gy);
    gh = swap01(gh);
  }
  const int64_t S = c.S, B = c.B, H = c.H;
  for (int64_t t = 0; t < S; ++t)
    for (int64_t dir = 0; dir < D; ++dir)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j) {
          const int64_t ref = ((t * D + dir) * B + b) * H + j;
          const int64_t got = l1 ? ((t * B + b) * D + dir) * H + j : ref;
          ASSERT_NEAR(gy.data<float>()[got], y[ref], 2e-5) << "Y t=" << t << " d=" << dir << " b=" << b << " j=" << j;
        }
  for (int64_t dir = 0; dir < D; ++dir)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t ref = (dir * B + b) * H + j;
        const int64_t got = l1 ? (b * D + dir) * H + j : ref;
        ASSERT_NEAR(gh.data<float>()[l1 ? ref : got], yh[ref], 2e-5) << "Y_h d=" << dir << " b=" << b;
        if (c.op == "LSTM") {
          const Tensor& gc = r.value()[2].tensor();
          ASSERT_NEAR(gc.data<float>()[got], yc[ref], 2e-5) << "Y_c d=" << dir << " b=" << b;
        }
      }
}

TEST(Rnn, AllCellsDirectionsAndOptions) {
  uint32_t seed = 1;
  for (const char* op : {"RNN", "GRU", "LSTM"})
    for (const char* dir : {"forward", "reverse", "bidirectional"}) {
      Case c;
      c.op = op;
      c.direction = dir;
      check(c, seed++);
      c.bias = c.lens = c.init = true;
      c.peep = c.op == "LSTM";
      check(c, seed++);
      c.layout = 1;
      check(c, seed++);
      c.lbr = c.op == "GRU";
      c.input_forget = c.op == "LSTM";
      c.clip = 0.5f;
      check(c, seed++, /*constant_weights=*/true, /*threads=*/3);
    }
}

TEST(Rnn, NonDefaultActivations) {
  Case c;
  c.op = "LSTM";
  c.direction = "bidirectional";
  c.bias = c.init = true;
  c.acts = {{"HardSigmoid", 0.3, 0.45}, {"LeakyRelu", 0.1}, {"Tanh"}, {"Sigmoid"}, {"Relu"}, {"HardSigmoid", 0.2, 0.5}};
  check(c, 77);
  c.op = "GRU";
  c.acts = {{"Sigmoid"}, {"Relu"}};  // listed once, used for both directions
  check(c, 78);
}

TEST(Rnn, LargerShapesThreaded) {
  Case c;
  c.op = "GRU";
  c.S = 7;
  c.B = 9;
  c.I = 33;
  c.H = 20;
  c.bias = c.lens = true;
  check(c, 90, true, 4);
  c.op = "LSTM";
  c.peep = true;
  check(c, 91, false, 4);
}

TEST(Rnn, Errors) {
  Tensor x = random_f({2, 1, 3}, 1), w = random_f({1, 4, 3}, 2), r = random_f({1, 4, 4}, 3);
  expect_error(OpCall("RNN", 14, {x, random_f({1, 4, 2}, 2), r}, {attr_i("hidden_size", 4)}), "W has shape");
  expect_error(OpCall("RNN", 14, {x, w, r}, {attr_i("hidden_size", 5)}), "hidden_size is 5");
  expect_error(OpCall("RNN", 14, {x, random_f({1, 4, 3}, 2), r}, {attr_i("hidden_size", 4), attr_s("direction", "sideways")}),
               "direction");
  expect_error(OpCall("GRU", 14, {x, random_f({1, 12, 3}, 2), random_f({1, 12, 4}, 3)},
                      {attr_strings("activations", {"Sigmoid", "Bogus"})}),
               "unknown activation");
  expect_error(OpCall("RNN", 14, {x, random_f({1, 4, 3}, 2), r, std::nullopt, ti32({1}, {5})}), "sequence_lens[0] = 5");
}

}  // namespace
}  // namespace tessera::kernel_test
