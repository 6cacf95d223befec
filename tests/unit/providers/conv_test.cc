// Conv, ConvTranspose and FusedConv diffed against naive direct loops on odd shapes: 1-D/2-D/3-D,
// groups (incl. depthwise), strides, dilations, asymmetric pads, auto_pad, large images (split
// into several GEMM tasks), prepacked constant weights and several threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/nn/blocked_layout.h"
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera {
namespace {

using namespace kernel_test;

struct ConvCase {
  Shape x;                       // N, C, spatial...
  int64_t M = 1, group = 1;
  std::vector<int64_t> kernel{}, strides{}, dilations{}, pads{};  // pads: begin..., end...
  bool bias = true;
};

std::vector<int64_t> or_ones(const std::vector<int64_t>& v, size_t n) { return v.empty() ? std::vector<int64_t>(n, 1) : v; }

// Multi-index helpers over a row-major shape.
std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}
int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t o = 0;
  for (size_t d = 0; d < s.size(); ++d) o = o * s[d] + idx[d];
  return o;
}

// Direct convolution with explicit pads.
std::vector<double> naive_conv(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b, Shape* y_shape) {
  const size_t nd = c.x.size() - 2;
  const auto s = or_ones(c.strides, nd), d = or_ones(c.dilations, nd);
  const std::vector<int64_t> p = c.pads.empty() ? std::vector<int64_t>(2 * nd, 0) : c.pads;
  const int64_t C = c.x[1], Cg = C / c.group, Mg = c.M / c.group;
  Shape ys{c.x[0], c.M};
  for (size_t i = 0; i < nd; ++i) ys.push_back((c.x[i + 2] + p[i] + p[i + nd] - (c.kernel[i] - 1) * d[i] - 1) / s[i] + 1);
  Shape ks(c.kernel.begin(), c.kernel.end());
  const int64_t kvol = shape_size(ks);
  std::vector<double> y(static_cast<size_t>(shape_size(ys)));
  // Flat offsets from row-major strides, the kernel positions unravelled once: nothing is
  // allocated per multiply-add (the sanitizer build runs this at -O0).
  Shape wshape{c.M, Cg};
  wshape.insert(wshape.end(), ks.begin(), ks.end());
  auto strides_of = [](const Shape& shape) {
    std::vector<int64_t> st(shape.size(), 1);
    for (size_t i = shape.size(); i-- > 1;) st[i - 1] = st[i] * shape[i];
    return st;
  };
  const std::vector<int64_t> xs = strides_of(c.x), ws = strides_of(wshape);
  std::vector<std::vector<int64_t>> kernel_positions;
  for (int64_t k = 0; k < kvol; ++k) kernel_positions.push_back(unravel(k, ks));
  for (int64_t o = 0; o < shape_size(ys); ++o) {
    const auto oi = unravel(o, ys);
    const int64_t n = oi[0], m = oi[1], g = m / Mg;
    double acc = b ? b->data<float>()[m] : 0.0;
    for (int64_t cg = 0; cg < Cg; ++cg)
      for (const std::vector<int64_t>& ki : kernel_positions) {
        int64_t x_at = n * xs[0] + (g * Cg + cg) * xs[1], w_at = m * ws[0] + cg * ws[1];
        bool inside = true;
        for (size_t i = 0; i < nd; ++i) {
          const int64_t pos = oi[i + 2] * s[i] - p[i] + ki[i] * d[i];
          inside = inside && pos >= 0 && pos < c.x[i + 2];
          x_at += pos * xs[i + 2];
          w_at += ki[i] * ws[i + 2];
        }
        if (inside) acc += static_cast<double>(x.data<float>()[x_at]) * w.data<float>()[w_at];
      }
    y[static_cast<size_t>(o)] = acc;
  }
  *y_shape = ys;
  return y;
}

std::vector<Attribute> conv_attrs(const ConvCase& c) {
  std::vector<Attribute> a{attr_i("group", c.group), attr_ints("kernel_shape", c.kernel)};
  if (!c.strides.empty()) a.push_back(attr_ints("strides", c.strides));
  if (!c.dilations.empty()) a.push_back(attr_ints("dilations", c.dilations));
  if (!c.pads.empty()) a.push_back(attr_ints("pads", c.pads));
  return a;
}

void check_conv(const ConvCase& c) {
  Shape ws{c.M, c.x[1] / c.group};
  ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
  const Tensor x = random_f(c.x, 11), w = random_f(ws, 12), b = random_f({c.M}, 13);
  Shape ys;
  const std::vector<double> want = naive_conv(c, x, w, c.bias ? &b : nullptr, &ys);
  for (int threads : {1, 3})
    for (bool constant_w : {false, true}) {
      SCOPED_TRACE(testing::Message() << "x=" << shape_to_string(c.x) << " M=" << c.M << " group=" << c.group
                                      << " threads=" << threads << " constant_w=" << constant_w);
      OpCall call{"Conv", 22, {x, w}, conv_attrs(c)};
      if (c.bias) call.inputs.push_back(b);
      call.threads = threads;
      if (constant_w) call.constant_inputs = {1};
      expect_close(run1(call), ys, want, 1e-4, 1e-5);
    }
}

TEST(Conv, MatchesDirectConvolution2D) {
  check_conv({{2, 3, 7, 9}, 4, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_conv({{1, 4, 11, 10}, 6, 2, {3, 2}, {2, 3}, {2, 1}, {1, 0, 2, 1}});
  check_conv({{1, 3, 5, 5}, 2, 1, {5, 5}, {}, {}, {}, false});
  check_conv({{1, 2, 1, 1}, 3, 1, {1, 1}, {}, {}, {}});
}

// A batch of small images runs several images to a GEMM, their columns side by side: a last run
// shorter than the others, groups, padding, 1-D, a batch whose images each fill a GEMM (one per
// GEMM, as before), and runs split over threads once the work is large enough.
TEST(Conv, SmallImagesShareAGemm) {
  check_conv({{16, 8, 4, 4}, 16, 1, {3, 3}, {}, {}, {1, 1, 1, 1}, false});  // the training CNN's second conv
  check_conv({{16, 1, 8, 8}, 8, 1, {3, 3}, {}, {}, {1, 1, 1, 1}, false});   // its first
  check_conv({{13, 6, 5, 3}, 4, 2, {2, 3}, {2, 1}, {}, {1, 0, 0, 2}});
  check_conv({{70, 3, 9}, 5, 1, {3}, {}, {2}, {2, 1}});
  check_conv({{3, 2, 17, 17}, 3, 1, {3, 3}});
  check_conv({{32, 8, 8, 8}, 16, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});  // enough work for runs on threads
}

TEST(Conv, DepthwiseAndGroups) {
  check_conv({{2, 5, 9, 8}, 5, 5, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}});
  check_conv({{1, 5, 9, 8}, 5, 5, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}});
  check_conv({{1, 4, 6, 7}, 4, 4, {3, 5}, {1, 2}, {}, {0, 2, 1, 1}, false});
  check_conv({{1, 3, 6, 6}, 6, 3, {3, 3}, {}, {}, {1, 1, 1, 1}});  // multiplier 2
}

// Rows at least 16 outputs wide run the direct depthwise kernel (no padded copy): 3x3, 5x5 and
// other widths, stride 1 and 2 (also unequal), asymmetric pads, pads wider than the kernel
// (rows with no tap inside the image), and a last tap on the input's very last element.
TEST(Conv, DepthwiseDirectWideRows) {
  check_conv({{1, 3, 19, 37}, 3, 3, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}});
  check_conv({{2, 4, 12, 45}, 4, 4, {5, 5}, {1, 1}, {}, {2, 2, 2, 2}});
  check_conv({{1, 3, 21, 41}, 3, 3, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}});
  check_conv({{1, 2, 23, 67}, 2, 2, {5, 5}, {2, 2}, {}, {2, 1, 2, 2}});
  check_conv({{1, 3, 9, 35}, 3, 3, {3, 3}, {1, 2}, {}, {0, 0, 0, 0}, false});
  check_conv({{1, 2, 8, 40}, 2, 2, {3, 4}, {2, 1}, {}, {1, 2, 1, 1}});
  check_conv({{1, 1, 5, 33}, 1, 1, {3, 3}, {2, 2}, {}, {0, 0, 0, 0}});
  check_conv({{1, 2, 4, 20}, 2, 2, {3, 3}, {1, 1}, {}, {3, 3, 3, 3}});
  check_conv({{1, 5, 6, 130}, 5, 5, {1, 7}, {1, 2}, {}, {0, 3, 0, 3}});
}

// Rows under 64 outputs with whole blocks of channels (16 fills an AVX-512 block, two AVX2 and
// four portable ones) run channel-blocked: 3x3 and 5x5 at stride 1 and 2 on MobileNet's 14x14
// and 7x7 planes, several images, plane sizes that are not a multiple of the block (the last
// transpose group shifted back), fewer positions than a block, unequal kernels and strides,
// dilations, asymmetric pads, pads wider than the kernel and a padded grid cut short of the
// input (stride leaves the last row and column unread).
TEST(Conv, DepthwiseChannelBlocked) {
  check_conv({{1, 16, 14, 14}, 16, 16, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}});
  check_conv({{2, 32, 7, 7}, 32, 32, {5, 5}, {1, 1}, {}, {2, 2, 2, 2}});
  check_conv({{1, 16, 14, 14}, 16, 16, {3, 3}, {2, 2}, {}, {0, 0, 1, 1}});
  check_conv({{1, 48, 14, 14}, 48, 48, {5, 5}, {2, 2}, {}, {2, 2, 2, 2}});
  check_conv({{1, 16, 3, 3}, 16, 16, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}});
  check_conv({{1, 16, 9, 11}, 16, 16, {3, 2}, {1, 2}, {}, {1, 0, 2, 1}, false});
  check_conv({{2, 16, 10, 12}, 16, 16, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}});
  check_conv({{1, 16, 8, 9}, 16, 16, {1, 7}, {2, 3}, {1, 1}, {0, 3, 0, 3}});
  check_conv({{1, 16, 4, 6}, 16, 16, {3, 3}, {1, 1}, {}, {3, 3, 3, 3}});
  check_conv({{1, 16, 12, 12}, 16, 16, {3, 3}, {2, 2}, {}, {0, 0, 0, 0}});
  check_conv({{1, 16, 20, 28}, 16, 16, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}});
  check_conv({{1, 20, 7, 7}, 20, 20, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}});  // 20 channels: blocked only with 4 lanes
}

// Planes whose blocked buffers would not stay in cache go in bands of output rows: bands that
// start in the top padding, in the image, and wholly in the bottom padding (pads wider than the
// image); stride 2 with a 5x5 kernel; a plane a few thousand rows tall.
TEST(Conv, DepthwiseChannelBlockedBands) {
  check_conv({{1, 16, 200, 60}, 16, 16, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}});
  check_conv({{2, 16, 201, 61}, 16, 16, {5, 5}, {2, 2}, {}, {2, 2, 2, 2}});
  check_conv({{1, 16, 150, 40}, 16, 16, {3, 3}, {1, 1}, {}, {0, 1, 100, 1}});
  check_conv({{1, 16, 3000, 5}, 16, 16, {3, 3}, {1, 1}, {}, {1, 1, 1, 1}});
}

TEST(Conv, PointwiseUsesInputAsColumns) {
  check_conv({{2, 8, 5, 7}, 5, 1, {1, 1}});
  check_conv({{1, 8, 5, 7}, 6, 2, {1, 1}, {}, {}, {}, false});
  check_conv({{1, 8, 5, 7}, 6, 1, {1, 1}, {2, 2}});  // strided 1x1 goes through im2col
}

// Stride-1 2-D convolutions whose output rows are as long as the input's lower each (channel,
// tap) as one shifted copy of the plane: dilation, an even kernel with asymmetric pads, pads
// wider than the kernel (whole rows in the padding), and bands of output rows.
TEST(Conv, SamePaddingShiftedPlanes) {
  check_conv({{1, 3, 8, 9}, 4, 1, {3, 3}, {}, {2, 2}, {2, 2, 2, 2}});
  check_conv({{1, 2, 6, 7}, 3, 1, {3, 2}, {}, {}, {1, 0, 1, 1}});
  check_conv({{1, 2, 5, 6}, 2, 1, {3, 5}, {}, {}, {3, 2, 1, 2}});
  check_conv({{1, 4, 48, 20}, 3, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});
}

TEST(Conv, OneAndThreeDimensions) {
  check_conv({{2, 3, 20}, 2, 1, {5}, {2}, {2}, {3, 1}});
  check_conv({{1, 4, 13}, 4, 2, {3}, {}, {}, {1, 1}});
  check_conv({{1, 2, 5, 6, 4}, 3, 1, {2, 3, 2}, {1, 2, 1}, {}, {1, 1, 0, 0, 1, 1}});
  check_conv({{1, 4, 4, 5, 6}, 4, 2, {3, 1, 2}, {}, {1, 1, 2}, {1, 0, 0, 1, 0, 1}});
}

TEST(Conv, LargeImageSplitsIntoTasks) {
  check_conv({{1, 3, 40, 41}, 8, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_conv({{2, 16, 30, 30}, 16, 1, {1, 1}});
  check_conv({{1, 3, 64, 64}, 5, 1, {7, 7}, {2, 2}, {}, {3, 3, 3, 3}});
}

TEST(Conv, AutoPadMatchesExplicitPads) {
  const Tensor x = random_f({1, 2, 7, 8}, 21), w = random_f({3, 2, 3, 4}, 22);
  // stride 2: out = ceil(in / 2) = 4, 4; total pad = (4-1)*2 + k - in = 2, 2.
  struct AutoCase {
    const char* mode;
    std::vector<int64_t> pads;
  };
  for (const AutoCase& a : {AutoCase{"SAME_UPPER", {1, 1, 1, 1}}, AutoCase{"SAME_LOWER", {1, 1, 1, 1}},
                            AutoCase{"VALID", {0, 0, 0, 0}}}) {
    ConvCase c{{1, 2, 7, 8}, 3, 1, {3, 4}, {2, 2}, {}, a.pads, false};
    Shape ys;
    const std::vector<double> want = naive_conv(c, x, w, nullptr, &ys);
    OpCall call{"Conv", 22, {x, w}, {attr_s("auto_pad", a.mode), attr_ints("strides", {2, 2})}};
    expect_close(run1(call), ys, want);
  }
  // Odd total padding: SAME_UPPER puts the extra pixel at the end, SAME_LOWER at the start.
  const Tensor x1 = random_f({1, 1, 6}, 23), w1 = random_f({1, 1, 2}, 24);
  for (auto [mode, pads] : {std::pair<const char*, std::vector<int64_t>>{"SAME_UPPER", {0, 1}}, {"SAME_LOWER", {1, 0}}}) {
    ConvCase c{{1, 1, 6}, 1, 1, {2}, {}, {}, pads, false};
    Shape ys;
    const std::vector<double> want = naive_conv(c, x1, w1, nullptr, &ys);
    expect_close(run1({"Conv", 22, {x1, w1}, {attr_s("auto_pad", mode)}}), ys, want);
  }
}

TEST(Conv, FusedConvActivationAndResidual) {
  ConvCase c{{1, 4, 9, 9}, 6, 2, {3, 3}, {}, {}, {1, 1, 1, 1}};
  const Tensor x = random_f(c.x, 31), w = random_f({6, 2, 3, 3}, 32), b = random_f({6}, 33);
  Shape ys;
  const std::vector<double> conv = naive_conv(c, x, w, &b, &ys);
  const Tensor z = random_f(ys, 34);
  std::vector<double> relu, clip, leaky;
  for (size_t i = 0; i < conv.size(); ++i) {
    const double v = conv[i] + z.data<float>()[i];
    relu.push_back(std::max(v, 0.0));
    clip.push_back(std::clamp(conv[i], -0.5, 0.5));
    leaky.push_back(conv[i] < 0 ? 0.1 * conv[i] : conv[i]);
  }
  OpCall fused{"FusedConv", 1, {x, w, b, z}, conv_attrs(c)};
  fused.domain = "com.microsoft";
  fused.attrs.push_back(attr_s("activation", "Relu"));
  for (int threads : {1, 3}) {
    fused.threads = threads;
    expect_close(run1(fused), ys, relu);
  }
  OpCall clipped{"FusedConv", 1, {x, w, b}, conv_attrs(c)};
  clipped.domain = "com.microsoft";
  clipped.attrs.push_back(attr_s("activation", "Clip"));
  clipped.attrs.push_back(attr_floats("activation_params", {-0.5f, 0.5f}));
  expect_close(run1(clipped), ys, clip);
  OpCall leaky_call{"FusedConv", 1, {x, w, b}, conv_attrs(c)};
  leaky_call.domain = "com.microsoft";
  leaky_call.attrs.push_back(attr_s("activation", "LeakyRelu"));
  leaky_call.attrs.push_back(attr_floats("activation_params", {0.1f}));
  expect_close(run1(leaky_call), ys, leaky);
}

// A FusedConv activation, its activation_params and its formula for the reference.
struct ActivationCase {
  const char* name;
  std::vector<float> params;
  double (*f)(double);
};

// Convolutions of 16 and more input channels with kernels past 1x1 (oneDNN's path where the
// build has it, with the output channels split between threads): output channels that are not
// whole blocks of 16, two images, strides, asymmetric pads and dilations, then FusedConv's
// residual with every activation (HardSwish is not fused there, so it takes Tessera's own path).
TEST(Conv, ManyChannelKernels) {
  check_conv({{2, 16, 9, 11}, 40, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_conv({{1, 24, 12, 10}, 32, 1, {3, 3}, {2, 2}, {1, 2}, {1, 0, 0, 1}});
  check_conv({{1, 16, 8, 8}, 16, 1, {5, 5}, {}, {}, {2, 2, 2, 2}, false});
  const ConvCase c{{2, 16, 9, 11}, 40, 1, {3, 3}, {}, {}, {1, 1, 1, 1}};
  const Tensor x = random_f(c.x, 61), w = random_f({40, 16, 3, 3}, 62), b = random_f({40}, 63);
  Shape ys;
  const std::vector<double> conv = naive_conv(c, x, w, &b, &ys);
  const Tensor z = random_f(ys, 64);
  const ActivationCase acts[] = {
      {"", {}, [](double v) { return v; }},
      {"Relu", {}, [](double v) { return std::max(v, 0.0); }},
      {"Clip", {-0.5f, 0.5f}, [](double v) { return std::clamp(v, -0.5, 0.5); }},
      {"LeakyRelu", {0.1f}, [](double v) { return v < 0 ? 0.1 * v : v; }},
      {"Silu", {}, [](double v) { return v / (1 + std::exp(-v)); }},
      {"Sigmoid", {}, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"Tanh", {}, [](double v) { return std::tanh(v); }},
      {"Gelu", {}, [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }},
      {"HardSwish", {}, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
  };
  for (const ActivationCase& act : acts) {
    std::vector<double> want;
    for (size_t i = 0; i < conv.size(); ++i) want.push_back(act.f(conv[i] + z.data<float>()[i]));
    OpCall call{"FusedConv", 1, {x, w, b, z}, conv_attrs(c)};
    call.domain = "com.tessera";
    call.constant_inputs = {1};
    if (*act.name) call.attrs.push_back(attr_s("activation", act.name));
    if (!act.params.empty()) call.attrs.push_back(attr_floats("activation_params", act.params));
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(testing::Message() << "activation '" << act.name << "' threads=" << threads);
      call.threads = threads;
      expect_close(run1(call), ys, want, 1e-4, 1e-5);
    }
  }
}

// The residual Z is read by the GEMM's epilogue at each task's offset: two images, bands of
// output rows, one and several threads.
TEST(Conv, FusedConvResidualAcrossBands) {
  ConvCase c{{2, 3, 40, 41}, 8, 1, {3, 3}, {}, {}, {1, 1, 1, 1}};
  const Tensor x = random_f(c.x, 51), w = random_f({8, 3, 3, 3}, 52), b = random_f({8}, 53);
  Shape ys;
  std::vector<double> want = naive_conv(c, x, w, &b, &ys);
  const Tensor z = random_f(ys, 54);
  for (size_t i = 0; i < want.size(); ++i) want[i] += z.data<float>()[i];
  OpCall fused{"FusedConv", 1, {x, w, b, z}, conv_attrs(c)};
  fused.domain = "com.tessera";
  for (int threads : {1, 3}) {
    fused.threads = threads;
    expect_close(run1(fused), ys, want);
  }
}

// The activations applied after the convolution (not clamps), on the depthwise planes and on
// the GEMM path's task blocks, one and several threads.
TEST(Conv, FusedConvSmoothActivations) {
  struct Act {
    const char* name;
    double (*f)(double);
  };
  const Act acts[] = {
      {"Silu", [](double v) { return v / (1 + std::exp(-v)); }},
      {"HardSwish", [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
      {"Gelu", [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }},
      {"Sigmoid", [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"Tanh", [](double v) { return std::tanh(v); }},
  };
  const ConvCase cases[] = {
      {{1, 4, 9, 9}, 6, 2, {3, 3}, {}, {}, {1, 1, 1, 1}},          // grouped GEMM
      {{1, 3, 11, 37}, 3, 3, {5, 5}, {2, 2}, {}, {2, 2, 2, 2}},    // depthwise, direct rows
      {{1, 3, 7, 7}, 3, 3, {3, 3}, {}, {}, {1, 1, 1, 1}},          // depthwise, padded copy
      {{1, 16, 7, 7}, 16, 16, {5, 5}, {}, {}, {2, 2, 2, 2}},       // depthwise, channel-blocked
      {{1, 8, 20, 30}, 5, 1, {1, 1}},                              // pointwise, several tasks
      {{6, 4, 3, 5}, 6, 2, {3, 3}, {}, {}, {1, 1, 1, 1}},          // small images sharing a GEMM
  };
  for (const ConvCase& c : cases) {
    Shape ws{c.M, c.x[1] / c.group};
    ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
    const Tensor x = random_f(c.x, 41), w = random_f(ws, 42), b = random_f({c.M}, 43);
    Shape ys;
    const std::vector<double> conv = naive_conv(c, x, w, &b, &ys);
    for (const Act& act : acts) {
      std::vector<double> want;
      for (double v : conv) want.push_back(act.f(v));
      OpCall call{"FusedConv", 1, {x, w, b}, conv_attrs(c)};
      call.domain = "com.microsoft";
      call.attrs.push_back(attr_s("activation", act.name));
      for (int threads : {1, 3}) {
        SCOPED_TRACE(testing::Message() << act.name << " x=" << shape_to_string(c.x) << " threads=" << threads);
        call.threads = threads;
        expect_close(run1(call), ys, want, 1e-4, 1e-5);
      }
    }
  }
  OpCall bad{"FusedConv", 1, {random_f({1, 1, 3, 3}, 1), random_f({1, 1, 1, 1}, 2)}, {attr_s("activation", "Swish")}};
  bad.domain = "com.microsoft";
  expect_error(bad, "unsupported fused activation 'Swish'");
}

TEST(Conv, RejectsBadShapes) {
  const Tensor x = random_f({1, 3, 5, 5}, 1);
  expect_error({"Conv", 22, {x, random_f({2, 2, 3, 3}, 2)}, {}}, "channels");
  expect_error({"Conv", 22, {x, random_f({2, 3, 3}, 2)}, {}}, "rank");
  expect_error({"Conv", 22, {x, random_f({2, 3, 7, 7}, 2)}, {}}, "larger than");
  expect_error({"Conv", 22, {x, random_f({2, 3, 3, 3}, 2), random_f({3}, 3)}, {}}, "bias");
  // Empty weights may declare any channel count; their channels times group overflowed int64
  // (a fuzzer's model), in Conv's check and in ConvTranspose's output channels.
  const int64_t huge = int64_t{1} << 62;
  expect_error({"Conv", 22, {x, iota_f({0, huge, 3, 3})}, {attr_i("group", 2)}}, "more than 2^63");
  expect_error({"ConvTranspose", 22, {iota_f({1, 0, 5, 5}), iota_f({0, huge, 3, 3})}, {attr_i("group", 2)}}, "more than 2^63");
}

// BlockedConv (the `all` level's FusedConv in the channel-blocked layout) on Tessera's direct and
// pointwise kernels: constant weights, blocks of the active ISA's vector (8 under
// TESSERA_ISA=avx2), channel counts that leave the last input and output blocks part empty,
// strides, asymmetric pads, dilations, 1x1 planes, tiles of one and two output rows, one to three
// threads. Lanes past M must stay zero whatever the activation gives for 0.
int64_t blocked_conv_block() { return std::max<int64_t>(8, kernels::depthwise_block_channels()); }

void check_blocked_conv(const ConvCase& c, const std::string& activation = "", std::vector<float> params = {},
                        double (*act)(double) = nullptr, bool residual = false, bool nan_padding = false,
                        bool nchw_input = false, double atol = 1e-5) {
  const int64_t B = blocked_conv_block(), N = c.x[0], C = c.x[1], plane = c.x[2] * c.x[3];
  Shape ws{c.M, C / c.group};
  ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
  const Tensor x = random_f(c.x, 71), w = random_f(ws, 72), b = random_f({c.M}, 73);
  Shape ys;
  std::vector<double> want = naive_conv(c, x, w, c.bias ? &b : nullptr, &ys);
  const int64_t out_plane = ys[2] * ys[3];
  Tensor xb = random_f(blocked_shape(c.x, B), 1), z = random_f(ys, 74), zb = random_f(blocked_shape(ys, B), 1);
  to_blocked(x.data<float>(), N, C, plane, B, xb.data<float>(), nullptr);
  to_blocked(z.data<float>(), N, c.M, out_plane, B, zb.data<float>(), nullptr);
  if (nan_padding)  // the input lanes past C, which Tessera's own kernels never read
    for (int64_t i = 0; i < xb.size(); ++i)
      if (i / plane / B % xb.dim(1) * B + i % B >= C) xb.data<float>()[i] = NAN;
  for (size_t i = 0; i < want.size(); ++i) {
    if (residual) want[i] += z.data<float>()[i];
    if (act) want[i] = act(want[i]);
  }
  OpCall call{"BlockedConv", 1, {nchw_input ? x : xb, w}, conv_attrs(c), 1, 1, "com.tessera"};
  call.inputs.push_back(c.bias ? std::optional<Value>(b) : std::nullopt);
  if (residual) call.inputs.push_back(zb);
  call.attrs.push_back(attr_i("block", B));
  if (nchw_input) call.attrs.push_back(attr_i("nchw_input", 1));
  if (!activation.empty()) call.attrs.push_back(attr_s("activation", activation));
  if (!params.empty()) call.attrs.push_back(attr_floats("activation_params", params));
  call.constant_inputs = {1};
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(testing::Message() << "x=" << shape_to_string(c.x) << " M=" << c.M << " activation '" << activation
                                    << "' residual=" << residual << " nchw_input=" << nchw_input
                                    << " threads=" << threads);
    call.threads = threads;
    const Tensor y = run1(call);
    ASSERT_EQ(shape_to_string(y.shape()), shape_to_string(blocked_shape(ys, B)));
    std::vector<double> got(want.size());
    for (int64_t i = 0; i < y.size(); ++i) {
      const int64_t lane = i % B, p = i / B % out_plane, cb = i / B / out_plane % y.dim(1), n = i / B / out_plane / y.dim(1);
      const int64_t m = cb * B + lane;
      if (m >= c.M) {
        ASSERT_EQ(y.data<float>()[i], 0.0f) << "padding lane " << lane << " of block " << cb;
        continue;
      }
      got[static_cast<size_t>((n * c.M + m) * out_plane + p)] = y.data<float>()[i];
    }
    expect_close(tf(ys, std::vector<float>(got.begin(), got.end())), ys, want, 1e-4, atol);
  }
}

TEST(Conv, BlockedConvDirectKernelShapes) {
  check_blocked_conv({{1, 20, 9, 11}, 40, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{2, 24, 12, 10}, 32, 1, {3, 3}, {2, 2}, {1, 2}, {1, 0, 0, 1}});
  check_blocked_conv({{1, 16, 8, 8}, 16, 1, {5, 5}, {}, {}, {2, 2, 2, 2}, false});
  check_blocked_conv({{1, 16, 10, 9}, 24, 1, {3, 3}, {2, 1}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{1, 24, 20, 21}, 40, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{1, 33, 15, 15}, 20, 1, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{1, 48, 7, 7}, 70, 1, {1, 1}});
  check_blocked_conv({{2, 32, 14, 13}, 24, 1, {1, 1}, {2, 2}});
  check_blocked_conv({{1, 17, 1, 1}, 33, 1, {1, 1}});
  check_blocked_conv({{1, 8, 40, 40}, 8, 1, {1, 1}});
  check_blocked_conv({{1, 16, 6, 6}, 16, 1, {3, 3}, {}, {}, {0, 0, 0, 0}});
  check_blocked_conv({{1, 20, 7, 7}, 40, 1, {3, 3}, {}, {}, {1, 1, 1, 1}});  // two rows per tile, a last band of one
  check_blocked_conv({{2, 16, 3, 3}, 24, 1, {3, 3}, {}, {2, 2}, {2, 2, 2, 2}});  // two rows within AVX2's width, dilated
  check_blocked_conv({{1, 16, 11, 11}, 16, 1, {3, 3}, {3, 3}, {}, {1, 1, 1, 1}});  // stride 3: another path
}

// 3x3s at stride 1 with at least 32 input and output channels and a clamp activation run on the
// Winograd kernel (microkernels/conv_winograd.h; F(4x4, 3x3) up to 256 channels, F(2x2, 3x3)
// past): even and odd sides (a last tile row or column part outside the output), asymmetric and
// no padding, 1x1 and 1-wide outputs, channel counts that leave the last blocks part empty (NaNs
// in the input's unused lanes must not leak in), a clamp that moves zero (the lanes past M must be
// zeroed again), a residual, two images, bands of tile rows per thread (small weights). F(4x4,
// 3x3) rounds more than a direct sum (its transforms scale by up to 8 and 1/24): outputs of sums
// of up to 2,400 products of values in [-1, 1], about 10 in size, come within 5e-4 (1.5e-4
// measured); a wrong transform is off by the outputs' own size.
TEST(Conv, BlockedConvWinogradShapes) {
  const auto relu = [](double v) { return std::max(v, 0.0); };
  const auto clip = [](double v) { return std::clamp(v, 0.1, 0.5); };
  const double atol = 5e-4;
  check_blocked_conv({{1, 32, 14, 14}, 32, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, "", {}, nullptr, false, false, false, atol);
  check_blocked_conv({{1, 40, 7, 9}, 36, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, "", {}, nullptr, false, true, false, atol);
  check_blocked_conv({{2, 33, 11, 6}, 48, 1, {3, 3}, {}, {}, {0, 2, 1, 0}}, "Relu", {}, relu, true, true, false, atol);
  check_blocked_conv({{1, 64, 9, 8}, 40, 1, {3, 3}, {}, {}, {0, 0, 0, 0}}, "Clip", {0.1f, 0.5f}, clip, true, false, false,
                     atol);
  check_blocked_conv({{1, 48, 1, 1}, 32, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, "Relu", {}, relu, false, false, false, atol);
  check_blocked_conv({{1, 32, 5, 1}, 64, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, "Clip", {0.1f, 0.5f}, clip, true, false, false,
                     atol);
  // F(2x2, 3x3) (more than 128 channels), each phase over the whole plane, odd sides.
  check_blocked_conv({{1, 136, 6, 7}, 144, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, "Relu", {}, relu, true, true, false, atol);
  // Bands of tile rows per thread (small weights): 2 bands of 2 tile rows per image at L = 16.
  check_blocked_conv({{2, 32, 16, 40}, 32, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, "Relu", {}, relu, true, true, false, atol);
}

// 1x1s on the pointwise kernel (microkernels/conv_pointwise.h): input channels that leave the
// last block part empty (24, 40: its other lanes are skipped: NaNs there must not leak in),
// enough of them for several chunks of weights (600: 3 chunks of 16 lanes, 2 of 8), stride 2 with
// rows of one and two per tile (7 and 3 wide), stride 2 along H only, batches, and a padded 1x1,
// which falls back to the direct kernel.
TEST(Conv, BlockedConvPointwiseShapes) {
  check_blocked_conv({{1, 24, 56, 5}, 40, 1, {1, 1}}, "", {}, nullptr, false, true);
  check_blocked_conv({{2, 40, 9, 9}, 24, 1, {1, 1}}, "", {}, nullptr, false, true);
  check_blocked_conv({{1, 600, 7, 7}, 36, 1, {1, 1}}, "", {}, nullptr, false, true);
  check_blocked_conv({{1, 300, 13, 13}, 20, 1, {1, 1}, {2, 2}}, "", {}, nullptr, false, true);
  check_blocked_conv({{2, 24, 6, 6}, 17, 1, {1, 1}, {2, 2}}, "", {}, nullptr, false, true);
  check_blocked_conv({{1, 33, 29, 30}, 48, 1, {1, 1}, {2, 2}}, "", {}, nullptr, false, true);
  check_blocked_conv({{1, 20, 9, 8}, 24, 1, {1, 1}, {2, 1}}, "", {}, nullptr, false, true);
  check_blocked_conv({{1, 16, 2, 9}, 8, 1, {1, 1}, {1, 2}}, "", {}, nullptr, false, true);
  check_blocked_conv({{1, 20, 5, 5}, 24, 1, {1, 1}, {}, {}, {1, 0, 1, 1}});
  // One input block with SiLU (EfficientNet's 16 -> 96; with a clamp it stays on oneDNN).
  check_blocked_conv({{1, 16, 30, 31}, 40, 1, {1, 1}}, "Silu", {}, [](double v) { return v / (1 + std::exp(-v)); });
}

TEST(Conv, BlockedConvDirectKernelEpilogues) {
  const ActivationCase acts[] = {
      {"", {}, [](double v) { return v; }},
      {"Relu", {}, [](double v) { return std::max(v, 0.0); }},
      {"Clip", {0.1f, 0.5f}, [](double v) { return std::clamp(v, 0.1, 0.5); }},
      {"LeakyRelu", {0.1f}, [](double v) { return v < 0 ? 0.1 * v : v; }},
      {"Silu", {}, [](double v) { return v / (1 + std::exp(-v)); }},
      {"Sigmoid", {}, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"HardSwish", {}, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
      {"HardSigmoid", {0.2f, 0.5f}, [](double v) { return std::clamp(0.2 * v + 0.5, 0.0, 1.0); }},
  };
  for (const ActivationCase& act : acts)
    for (bool residual : {false, true}) {
      check_blocked_conv({{1, 20, 9, 11}, 40, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, act.name, act.params, act.f, residual);
      check_blocked_conv({{1, 24, 7, 7}, 20, 1, {1, 1}}, act.name, act.params, act.f, residual);
      check_blocked_conv({{1, 520, 7, 6}, 20, 1, {1, 1}, {2, 2}}, act.name, act.params, act.f, residual);
      check_blocked_conv({{1, 16, 5, 5}, 20, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, act.name, act.params, act.f, residual);
    }
}

// The RGB stem: an NCHW input of fewer channels than a block (its channels the lanes of one
// block) written blocked by the direct kernel: ResNet-50's 7x7/2 and MobileNetV2's 3x3/2 on
// odd sides (bands of four output rows, a last band of fewer), one and two channels, stride 1,
// asymmetric pads, no padding (read in place), dilation, two images, epilogues.
TEST(Conv, BlockedConvPlanarStem) {
  const auto relu = [](double v) { return std::max(v, 0.0); };
  const auto clip6 = [](double v) { return std::clamp(v, 0.0, 6.0); };
  check_blocked_conv({{1, 3, 29, 27}, 64, 1, {7, 7}, {2, 2}, {}, {3, 3, 3, 3}}, "Relu", {}, relu, false, false, true);
  check_blocked_conv({{2, 3, 23, 30}, 32, 1, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}}, "Clip", {0.0f, 6.0f}, clip6, false, false,
                     true);
  check_blocked_conv({{1, 1, 12, 17}, 20, 1, {3, 3}, {}, {}, {1, 0, 2, 1}}, "", {}, nullptr, false, false, true);
  check_blocked_conv({{1, 2, 10, 11}, 40, 1, {5, 5}, {1, 2}, {}, {0, 0, 0, 0}}, "", {}, nullptr, true, false, true);
  check_blocked_conv({{1, 3, 16, 16}, 8, 1, {3, 3}, {2, 2}, {2, 2}, {2, 2, 2, 2}}, "Relu", {}, relu, true, false, true);
  check_blocked_conv({{1, 3, 9, 9}, 24, 1, {3, 3}, {}, {}, {1, 1, 1, 1}, false}, "", {}, nullptr, false, false, true);
}

// More stems on the direct kernel: the RGB 3x3/2 and 7x7/2 stems with LeakyRelu, a tall image,
// stride 3 along H, asymmetric pads, dilation, one and five channels, two images, a residual,
// SiLU, and Clip.
TEST(Conv, BlockedConvStemEpilogues) {
  double (*leaky)(double) = [](double v) { return v < 0 ? 0.1 * v : v; };
  double (*silu)(double) = [](double v) { return v / (1 + std::exp(-v)); };
  auto stem = [](const ConvCase& c, const std::string& act, std::vector<float> params, double (*f)(double),
                 bool residual = false) { check_blocked_conv(c, act, params, f, residual, false, true); };
  stem({{1, 3, 32, 30}, 32, 1, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}}, "LeakyRelu", {0.1f}, leaky);
  stem({{2, 3, 23, 21}, 40, 1, {7, 7}, {2, 2}, {}, {3, 3, 3, 3}}, "LeakyRelu", {0.1f}, leaky);
  stem({{1, 3, 300, 40}, 24, 1, {3, 3}, {}, {}, {1, 1, 1, 1}}, "LeakyRelu", {0.1f}, leaky);
  stem({{1, 1, 17, 19}, 8, 1, {3, 3}, {3, 2}, {2, 1}, {0, 2, 1, 0}}, "LeakyRelu", {0.1f}, leaky);
  stem({{1, 5, 12, 13}, 20, 1, {5, 3}, {1, 2}, {}, {2, 1, 2, 1}}, "LeakyRelu", {0.1f}, leaky, true);
  stem({{1, 3, 30, 30}, 32, 1, {3, 3}, {2, 2}, {}, {0, 0, 1, 1}}, "Silu", {}, silu);
  stem({{1, 3, 20, 20}, 16, 1, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}}, "Clip", {0.0f, 6.0f},
       [](double v) { return std::clamp(v, 0.0, 6.0); });
}

// Depthwise BlockedConv: 3x3 and 5x5 at stride 1 and 2 on rows of 28 inputs or more read the
// blocked input in place (windows inside the image directly, the edge outputs tap by tap, rows
// in the padding as zero rows); narrower rows and other geometries go through the padded copy.
// Rows of fewer, exactly and more than a group of seven interior outputs (the 1 to 6 past the
// last group run as one group: 6 at 29 wide, 5 at 28, 4 at 34, 3 at 28 (5x5), 2 at 60, 1 at 33
// (5x5 stride 2)); no padding; pads wider
// than the kernel's reach; asymmetric pads; a last block part empty; bands of rows (200 x 60);
// two images; fused Clip and SiLU.
TEST(Conv, BlockedConvDepthwise) {
  check_blocked_conv({{1, 32, 5, 30}, 32, 32, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{2, 20, 9, 31}, 20, 20, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{1, 16, 7, 28}, 16, 16, {5, 5}, {}, {}, {2, 2, 2, 2}});
  check_blocked_conv({{1, 24, 15, 33}, 24, 24, {5, 5}, {2, 2}, {}, {1, 2, 2, 1}});
  check_blocked_conv({{1, 16, 6, 29}, 16, 16, {3, 3}, {}, {}, {0, 0, 0, 0}});
  check_blocked_conv({{1, 16, 4, 28}, 16, 16, {3, 3}, {}, {}, {3, 2, 3, 4}});
  check_blocked_conv({{1, 16, 4, 28}, 16, 16, {5, 5}, {2, 2}, {}, {0, 9, 1, 9}});  // edge runs of 5 and 4 outputs
  check_blocked_conv({{1, 16, 112, 112}, 16, 16, {3, 3}, {2, 2}, {}, {0, 0, 1, 1}});
  check_blocked_conv({{1, 16, 200, 60}, 16, 16, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{1, 16, 5, 34}, 16, 16, {3, 3}, {}, {}, {1, 1, 1, 1}});
  check_blocked_conv({{1, 16, 14, 14}, 16, 16, {3, 3}, {}, {}, {1, 1, 1, 1}});     // narrow: the padded copy
  check_blocked_conv({{1, 16, 9, 30}, 16, 16, {3, 3}, {}, {2, 2}, {2, 2, 2, 2}});  // dilated: the padded copy
  check_blocked_conv({{1, 16, 9, 30}, 16, 16, {3, 3}, {3, 3}, {}, {1, 1, 1, 1}});  // stride 3: the padded copy
  check_blocked_conv({{1, 20, 11, 29}, 20, 20, {3, 3}, {}, {}, {1, 1, 1, 1}}, "Clip", {0.0f, 6.0f},
                     [](double v) { return std::clamp(v, 0.0, 6.0); });
  check_blocked_conv({{1, 20, 11, 32}, 20, 20, {5, 5}, {2, 2}, {}, {2, 2, 2, 2}}, "Silu", {},
                     [](double v) { return v / (1 + std::exp(-v)); });
}

// ConvTranspose reference: every input pixel scatters its kernel into the output.
struct TransposeCase {
  Shape x;  // N, C, spatial...
  int64_t Mg = 1, group = 1;
  std::vector<int64_t> kernel{}, strides{}, dilations{}, pads{}, output_padding{};
};

std::vector<double> naive_conv_transpose(const TransposeCase& c, const Tensor& x, const Tensor& w, const Tensor& b,
                                         Shape* y_shape) {
  const size_t nd = c.x.size() - 2;
  const auto s = or_ones(c.strides, nd), d = or_ones(c.dilations, nd);
  const std::vector<int64_t> p = c.pads.empty() ? std::vector<int64_t>(2 * nd, 0) : c.pads;
  const std::vector<int64_t> op = c.output_padding.empty() ? std::vector<int64_t>(nd, 0) : c.output_padding;
  const int64_t C = c.x[1], Cg = C / c.group, M = c.Mg * c.group;
  Shape ys{c.x[0], M};
  for (size_t i = 0; i < nd; ++i) ys.push_back(s[i] * (c.x[i + 2] - 1) + op[i] + (c.kernel[i] - 1) * d[i] + 1 - p[i] - p[i + nd]);
  Shape ks(c.kernel.begin(), c.kernel.end());
  Shape wshape{C, c.Mg};
  wshape.insert(wshape.end(), ks.begin(), ks.end());
  std::vector<double> y(static_cast<size_t>(shape_size(ys)));
  for (int64_t o = 0; o < shape_size(ys); ++o) y[static_cast<size_t>(o)] = b.data<float>()[unravel(o, ys)[1]];
  for (int64_t i = 0; i < shape_size(c.x); ++i) {
    const auto xi = unravel(i, c.x);
    const int64_t n = xi[0], ch = xi[1], g = ch / Cg;
    for (int64_t m = 0; m < c.Mg; ++m)
      for (int64_t k = 0; k < shape_size(ks); ++k) {
        const auto ki = unravel(k, ks);
        std::vector<int64_t> yi{n, g * c.Mg + m};
        bool inside = true;
        for (size_t a = 0; a < nd; ++a) {
          const int64_t pos = xi[a + 2] * s[a] - p[a] + ki[a] * d[a];
          inside = inside && pos >= 0 && pos < ys[a + 2];
          yi.push_back(pos);
        }
        if (!inside) continue;
        Shape wi{ch, m};
        wi.insert(wi.end(), ki.begin(), ki.end());
        y[static_cast<size_t>(ravel(yi, ys))] += static_cast<double>(x.data<float>()[i]) * w.data<float>()[ravel(wi, wshape)];
      }
  }
  *y_shape = ys;
  return y;
}

void check_conv_transpose(const TransposeCase& c) {
  Shape ws{c.x[1], c.Mg};
  ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
  const Tensor x = random_f(c.x, 41), w = random_f(ws, 42), b = random_f({c.Mg * c.group}, 43);
  Shape ys;
  const std::vector<double> want = naive_conv_transpose(c, x, w, b, &ys);
  std::vector<Attribute> attrs{attr_i("group", c.group)};
  if (!c.strides.empty()) attrs.push_back(attr_ints("strides", c.strides));
  if (!c.dilations.empty()) attrs.push_back(attr_ints("dilations", c.dilations));
  if (!c.pads.empty()) attrs.push_back(attr_ints("pads", c.pads));
  if (!c.output_padding.empty()) attrs.push_back(attr_ints("output_padding", c.output_padding));
  for (int threads : {1, 3})
    for (bool constant_w : {false, true}) {
      SCOPED_TRACE(testing::Message() << "x=" << shape_to_string(c.x) << " threads=" << threads << " constant_w=" << constant_w);
      OpCall call{"ConvTranspose", 22, {x, w, b}, attrs};
      call.threads = threads;
      if (constant_w) call.constant_inputs = {1};
      expect_close(run1(call), ys, want);
    }
}

TEST(ConvTranspose, MatchesDirectScatter) {
  check_conv_transpose({{1, 2, 4, 5}, 3, 1, {3, 3}, {2, 2}, {}, {1, 0, 0, 1}, {1, 0}});
  check_conv_transpose({{2, 4, 3, 3}, 2, 2, {2, 3}, {1, 2}, {2, 1}, {}, {}});
  check_conv_transpose({{1, 3, 7}, 2, 1, {4}, {3}, {}, {1, 2}, {2}});
  check_conv_transpose({{1, 2, 3, 4, 2}, 2, 1, {2, 2, 3}, {2, 1, 2}, {}, {}, {}});
  check_conv_transpose({{2, 6, 4, 4}, 4, 2, {1, 1}, {}, {}, {}, {}});  // pointwise: no col2im
  check_conv_transpose({{1, 4, 5, 5}, 1, 4, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, {}});  // depthwise
}

// A batch of small images runs several images to a GEMM, then col2im image by image: the
// training CNN's input gradient, groups with a last run shorter than the others, 1-D, and runs
// split over threads.
TEST(ConvTranspose, SmallImagesShareAGemm) {
  check_conv_transpose({{16, 16, 4, 4}, 8, 1, {3, 3}, {}, {}, {1, 1, 1, 1}, {}});
  check_conv_transpose({{100, 4, 3, 2}, 3, 2, {2, 2}, {2, 1}, {}, {0, 1, 1, 0}, {1, 0}});
  check_conv_transpose({{9, 3, 5}, 2, 1, {3}, {2}, {2}, {1, 0}, {}});
  check_conv_transpose({{96, 16, 4, 4}, 8, 1, {3, 3}, {}, {}, {1, 1, 1, 1}, {}});  // runs on threads
}

TEST(ConvTranspose, OutputShapeSetsPads) {
  // Natural size 9 x 7 (stride 3, 2; kernel 3); output_shape 10 x 8 adds the extra row and
  // column at the end, like output_padding [1, 1].
  TransposeCase c{{1, 1, 3, 3}, 2, 1, {3, 3}, {3, 2}, {}, {}, {1, 1}};
  const Tensor x = random_f(c.x, 41), w = random_f({1, 2, 3, 3}, 42), b = random_f({2}, 43);
  Shape ys;
  const std::vector<double> want = naive_conv_transpose(c, x, w, b, &ys);
  expect_close(run1({"ConvTranspose", 22, {x, w, b}, {attr_ints("strides", {3, 2}), attr_ints("output_shape", {10, 8})}}), ys, want);
  // SAME_UPPER: output = input * stride, total pad 1 goes to the end.
  TransposeCase same{{1, 1, 3, 3}, 2, 1, {3, 3}, {2, 2}, {}, {0, 0, 1, 1}, {}};
  const std::vector<double> want_same = naive_conv_transpose(same, x, w, b, &ys);
  expect_close(run1({"ConvTranspose", 22, {x, w, b}, {attr_ints("strides", {2, 2}), attr_s("auto_pad", "SAME_UPPER")}}), ys, want_same);
}

}  // namespace
}  // namespace tessera
