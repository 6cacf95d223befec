// Pooling kernels diffed against a naive window loop: MaxPool (values and Indices, both storage
// orders), AveragePool (count_include_pad), LpPool, with pads, strides, dilations and ceil_mode;
// the global pools; MaxUnpool inverting MaxPool.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "providers/cpu/microkernels/depthwise_blocked.h"
#include "providers/cpu/nn/blocked_layout.h"
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera {
namespace {

using namespace kernel_test;

struct PoolCase {
  Shape x;
  std::vector<int64_t> kernel{}, strides{}, dilations{}, pads{};
  bool ceil_mode = false;
};

enum class Kind { max, avg, avg_pad, lp2, lp3 };

// Output size per spatial axis, the ONNX rule including ceil_mode's "last window starts inside".
int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil_mode) {
  const int64_t span = in + pb + pe - ((k - 1) * d + 1);
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + pb) --out;
  return out;
}

// Naive pooling over 1-3 spatial axes; fills `indices` (row-major argmax) for max.
std::vector<double> naive_pool(const PoolCase& c, Kind kind, const Tensor& x, Shape* y_shape, std::vector<int64_t>* indices) {
  const size_t nd = c.x.size() - 2;
  auto get = [&](const std::vector<int64_t>& v, size_t i, int64_t dflt) { return v.empty() ? dflt : v[i]; };
  Shape ys{c.x[0], c.x[1]};
  for (size_t i = 0; i < nd; ++i)
    ys.push_back(out_size(c.x[i + 2], c.kernel[i], get(c.strides, i, 1), get(c.dilations, i, 1), get(c.pads, i, 0),
                          get(c.pads, i + nd, 0), c.ceil_mode));
  std::vector<double> y;
  const int64_t plane_in = shape_size(Shape(c.x.begin() + 2, c.x.end()));
  const int64_t plane_out = shape_size(Shape(ys.begin() + 2, ys.end()));
  for (int64_t plane = 0; plane < c.x[0] * c.x[1]; ++plane)
    for (int64_t o = 0; o < plane_out; ++o) {
      std::vector<int64_t> oi(nd);
      for (int64_t r = o, i = static_cast<int64_t>(nd) - 1; i >= 0; --i) {
        oi[static_cast<size_t>(i)] = r % ys[static_cast<size_t>(i) + 2];
        r /= ys[static_cast<size_t>(i) + 2];
      }
      double best = -std::numeric_limits<double>::infinity(), sum = 0;
      int64_t best_i = -1, count = 0, padded = 0;
      int64_t kvol = 1;
      for (size_t i = 0; i < nd; ++i) kvol *= c.kernel[i];
      for (int64_t k = 0; k < kvol; ++k) {
        std::vector<int64_t> ki(nd);
        for (int64_t r = k, i = static_cast<int64_t>(nd) - 1; i >= 0; --i) {
          ki[static_cast<size_t>(i)] = r % c.kernel[static_cast<size_t>(i)];
          r /= c.kernel[static_cast<size_t>(i)];
        }
        bool inside = true, in_pads = true;
        int64_t flat = 0;
        for (size_t a = 0; a < nd; ++a) {
          const int64_t pos = oi[a] * get(c.strides, a, 1) - get(c.pads, a, 0) + ki[a] * get(c.dilations, a, 1);
          inside = inside && pos >= 0 && pos < c.x[a + 2];
          in_pads = in_pads && pos < c.x[a + 2] + get(c.pads, a + nd, 0);
          flat = flat * c.x[a + 2] + pos;
        }
        if (in_pads) ++padded;
        if (!inside) continue;
        const double v = x.data<float>()[plane * plane_in + flat];
        ++count;
        if (v > best) best = v, best_i = plane * plane_in + flat;
        sum += kind == Kind::lp2 ? v * v : kind == Kind::lp3 ? std::pow(std::fabs(v), 3.0) : v;
      }
      switch (kind) {
        case Kind::max:
          y.push_back(best);
          if (indices) indices->push_back(best_i);
          break;
        case Kind::avg: y.push_back(sum / static_cast<double>(count)); break;
        case Kind::avg_pad: y.push_back(sum / static_cast<double>(padded)); break;
        case Kind::lp2: y.push_back(std::sqrt(sum)); break;
        case Kind::lp3: y.push_back(std::cbrt(sum)); break;
      }
    }
  *y_shape = ys;
  return y;
}

std::vector<Attribute> pool_attrs(const PoolCase& c) {
  std::vector<Attribute> a{attr_ints("kernel_shape", c.kernel), attr_i("ceil_mode", c.ceil_mode ? 1 : 0)};
  if (!c.strides.empty()) a.push_back(attr_ints("strides", c.strides));
  if (!c.dilations.empty()) a.push_back(attr_ints("dilations", c.dilations));
  if (!c.pads.empty()) a.push_back(attr_ints("pads", c.pads));
  return a;
}

const PoolCase kCases[] = {
    {{2, 3, 9, 8}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}},
    {{1, 2, 7, 10}, {2, 3}, {2, 3}, {}, {0, 1, 1, 0}, true},
    {{1, 2, 11, 9}, {3, 2}, {2, 1}, {2, 3}, {1, 0, 2, 1}, true},
    {{1, 3, 17}, {4}, {3}, {2}, {1, 2}},
    {{1, 2, 6, 5, 7}, {2, 3, 2}, {2, 1, 3}, {1, 1, 2}, {1, 0, 1, 0, 1, 1}, true},
    {{2, 4, 5, 5}, {5, 5}, {}, {}, {}},
    // Rows of several vectors: ResNet's 3x3/2 with padding, and a dilated window.
    {{1, 2, 12, 57}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}},
    {{1, 2, 9, 41}, {2, 3}, {1, 2}, {1, 2}, {0, 2, 1, 1}},
};

TEST(Pool, MaxPoolValuesAndIndices) {
  for (const PoolCase& c : kCases) {
    const Tensor x = random_f(c.x, 5);
    Shape ys;
    std::vector<int64_t> want_idx;
    const std::vector<double> want = naive_pool(c, Kind::max, x, &ys, &want_idx);
    for (int threads : {1, 3}) {
      OpCall call{"MaxPool", 22, {x}, pool_attrs(c), 2};
      call.threads = threads;
      auto r = run_op(call);
      ASSERT_TRUE(r.is_ok()) << r.status().message();
      expect_close(r.value()[0].tensor(), ys, want, 0, 0);
      const Tensor& idx = r.value()[1].tensor();
      ASSERT_EQ(idx.dtype(), DataType::int64);
      EXPECT_EQ(std::vector<int64_t>(idx.data<int64_t>(), idx.data<int64_t>() + idx.size()), want_idx);
    }
  }
}

TEST(Pool, MaxPoolWithoutIndices) {
  // Without Indices, 1-D and 2-D max pooling takes the separable (rows, then columns) path.
  for (const PoolCase& c : kCases) {
    const Tensor x = random_f(c.x, 15);
    Shape ys;
    const std::vector<double> want = naive_pool(c, Kind::max, x, &ys, nullptr);
    OpCall call{"MaxPool", 22, {x}, pool_attrs(c)};
    call.threads = 2;
    expect_close(run1(call), ys, want, 0, 0);
  }
}

TEST(Pool, MaxPoolColumnMajorIndices) {
  const Tensor x = random_f({1, 2, 4, 5}, 6);
  PoolCase c{{1, 2, 4, 5}, {2, 2}, {1, 2}};
  Shape ys;
  std::vector<int64_t> row_major;
  naive_pool(c, Kind::max, x, &ys, &row_major);
  OpCall call{"MaxPool", 22, {x}, pool_attrs(c), 2};
  call.attrs.push_back(attr_i("storage_order", 1));
  const Tensor idx = run1(call, 1);
  for (size_t i = 0; i < row_major.size(); ++i) {
    const int64_t plane = row_major[i] / 20, h = row_major[i] % 20 / 5, w = row_major[i] % 5;
    EXPECT_EQ(idx.data<int64_t>()[i], plane * 20 + h + w * 4);
  }
}

TEST(Pool, AverageAndLpPool) {
  for (const PoolCase& c : kCases) {
    const Tensor x = random_f(c.x, 7);
    Shape ys;
    SCOPED_TRACE(shape_to_string(c.x));
    expect_close(run1({"AveragePool", 22, {x}, pool_attrs(c)}), ys, naive_pool(c, Kind::avg, x, &ys, nullptr));
    OpCall with_pad{"AveragePool", 22, {x}, pool_attrs(c)};
    with_pad.attrs.push_back(attr_i("count_include_pad", 1));
    with_pad.threads = 3;
    expect_close(run1(with_pad), ys, naive_pool(c, Kind::avg_pad, x, &ys, nullptr));
    expect_close(run1({"LpPool", 22, {x}, pool_attrs(c)}), ys, naive_pool(c, Kind::lp2, x, &ys, nullptr));
    OpCall lp3{"LpPool", 22, {x}, pool_attrs(c)};
    lp3.attrs.push_back(attr_i("p", 3));
    expect_close(run1(lp3), ys, naive_pool(c, Kind::lp3, x, &ys, nullptr));
  }
}

// BlockedPool (the `all` level's MaxPool and AveragePool in the channel-blocked layout): 20
// channels (a last block part empty), the 2-D cases above without ceil_mode, rows wide enough for
// the runs of four whole windows folded together (ResNet-50's 3x3/2 after the stem) and their
// edges, both count_include_pad forms.
TEST(Pool, BlockedPoolMatchesNaiveWindows) {
  const int64_t B = std::max<int64_t>(8, kernels::depthwise_block_channels()), C = 20;
  std::vector<PoolCase> cases;
  for (const PoolCase& c : kCases)
    if (c.x.size() == 4 && !c.ceil_mode) cases.push_back(c);
  cases.push_back({{1, 2, 15, 57}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}});
  cases.push_back({{1, 2, 6, 23}, {3, 3}, {1, 1}, {}, {0, 0, 0, 0}});
  cases.push_back({{1, 2, 8, 30}, {2, 2}, {1, 3}, {1, 1}, {0, 1, 0, 1}});
  for (PoolCase c : cases) {
    c.x[1] = C;
    const Tensor x = random_f(c.x, 9);
    const int64_t N = c.x[0], plane = c.x[2] * c.x[3];
    Tensor xb = random_f(blocked_shape(c.x, B), 1);
    to_blocked(x.data<float>(), N, C, plane, B, xb.data<float>(), nullptr);
    for (Kind kind : {Kind::max, Kind::avg, Kind::avg_pad}) {
      Shape ys;
      const std::vector<double> want = naive_pool(c, kind, x, &ys, nullptr);
      OpCall call{"BlockedPool", 1, {xb}, pool_attrs(c), 1, 2, "com.tessera"};
      call.attrs.push_back(attr_s("pool", kind == Kind::max ? "MaxPool" : "AveragePool"));
      if (kind == Kind::avg_pad) call.attrs.push_back(attr_i("count_include_pad", 1));
      SCOPED_TRACE(testing::Message() << shape_to_string(c.x) << " kind " << static_cast<int>(kind));
      const Tensor y = run1(call);
      ASSERT_EQ(shape_to_string(y.shape()), shape_to_string(blocked_shape(ys, B)));
      const int64_t out_plane = ys[2] * ys[3];
      std::vector<float> got(want.size());
      from_blocked(y.data<float>(), N, C, out_plane, B, got.data(), nullptr);
      expect_close(tf(ys, got), ys, want, kind == Kind::max ? 0 : 1e-5, kind == Kind::max ? 0 : 1e-6);
    }
  }
}

TEST(Pool, SameUpperPadsTheEnd) {
  // in 6, kernel 3, stride 2: out 3, total pad 1 -> SAME_UPPER pads [0, 1], SAME_LOWER [1, 0].
  const Tensor x = random_f({1, 1, 6}, 8);
  Shape ys;
  expect_close(run1({"AveragePool", 22, {x}, {attr_ints("kernel_shape", {3}), attr_ints("strides", {2}), attr_s("auto_pad", "SAME_UPPER")}}),
               {1, 1, 3}, naive_pool({{1, 1, 6}, {3}, {2}, {}, {0, 1}}, Kind::avg, x, &ys, nullptr));
  expect_close(run1({"MaxPool", 22, {x}, {attr_ints("kernel_shape", {3}), attr_ints("strides", {2}), attr_s("auto_pad", "SAME_LOWER")}}),
               {1, 1, 3}, naive_pool({{1, 1, 6}, {3}, {2}, {}, {1, 0}}, Kind::max, x, &ys, nullptr));
}

TEST(Pool, GlobalPools) {
  const Tensor x = random_f({2, 3, 4, 5}, 9);
  std::vector<double> mx, avg, lp;
  for (int64_t p = 0; p < 6; ++p) {
    double m = -1e9, s = 0, s2 = 0;
    for (int64_t i = 0; i < 20; ++i) {
      const double v = x.data<float>()[p * 20 + i];
      m = std::max(m, v);
      s += v;
      s2 += v * v;
    }
    mx.push_back(m);
    avg.push_back(s / 20);
    lp.push_back(std::sqrt(s2));
  }
  expect_close(run1({"GlobalMaxPool", 22, {x}, {}}), {2, 3, 1, 1}, mx, 0, 0);
  expect_close(run1({"GlobalAveragePool", 22, {x}, {}}), {2, 3, 1, 1}, avg);
  expect_close(run1({"GlobalLpPool", 22, {x}, {}}), {2, 3, 1, 1}, lp);
}

// Float planes sum through the vectorized reduction: 7x7 planes (not a multiple of the vector),
// planes shorter than a vector, large ones, one and several threads.
TEST(Pool, GlobalAveragePoolVectorizedPlanes) {
  for (const Shape& shape : {Shape{2, 300, 7, 7}, Shape{1, 5, 1, 3}, Shape{1, 3, 56, 57}}) {
    const Tensor x = random_f(shape, 10);
    const int64_t planes = shape[0] * shape[1], size = shape[2] * shape[3];
    std::vector<double> avg;
    for (int64_t p = 0; p < planes; ++p) {
      double s = 0;
      for (int64_t i = 0; i < size; ++i) s += x.data<float>()[p * size + i];
      avg.push_back(s / static_cast<double>(size));
    }
    for (int threads : {1, 4}) {
      OpCall call{"GlobalAveragePool", 22, {x}, {}};
      call.threads = threads;
      expect_close(run1(call), {shape[0], shape[1], 1, 1}, avg, 1e-5, 1e-6);
    }
  }
}

TEST(Pool, MaxUnpoolInvertsMaxPool) {
  const Tensor x = random_f({1, 2, 4, 4}, 10);
  std::vector<Attribute> attrs{attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})};
  auto pooled = run_op({"MaxPool", 22, {x}, attrs, 2});
  ASSERT_TRUE(pooled.is_ok());
  const Tensor y = run1({"MaxUnpool", 22, {pooled.value()[0].tensor(), pooled.value()[1].tensor()}, attrs});
  ASSERT_EQ(shape_to_string(y.shape()), "[1,2,4,4]");
  const Tensor& idx = pooled.value()[1].tensor();
  int64_t nonzero = 0;
  for (int64_t i = 0; i < y.size(); ++i) nonzero += y.data<float>()[i] != 0.0f;
  EXPECT_EQ(nonzero, idx.size());
  for (int64_t i = 0; i < idx.size(); ++i)
    EXPECT_EQ(y.data<float>()[idx.data<int64_t>()[i]], x.data<float>()[idx.data<int64_t>()[i]]);
}

TEST(Pool, RejectsBadAttributes) {
  const Tensor x = random_f({1, 1, 4, 4}, 1);
  expect_error({"MaxPool", 22, {x}, {attr_ints("kernel_shape", {2})}}, "kernel_shape");
  expect_error({"MaxPool", 22, {x}, {attr_ints("kernel_shape", {5, 5})}}, "larger than");
  expect_error({"AveragePool", 22, {x}, {}}, "kernel_shape");
}

}  // namespace
}  // namespace tessera
