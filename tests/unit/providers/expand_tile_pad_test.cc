// Expand, Tile, Pad: bidirectional broadcast, Tile-1 and Tile-6 forms, every Pad mode against a
// naive per-coordinate mapping (including negative pads = crops), axes input, old attributes.
#include <random>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

TEST(Expand, BidirectionalBroadcast) {
  Tensor x = tf({3, 1}, {1, 2, 3});
  expect_f(run1({"Expand", 13, {x, ti64({3}, {2, 1, 2})}}), {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  expect_f(run1({"Expand", 13, {x, ti64({1}, {1})}}), {3, 1}, {1, 2, 3});
  Tensor row = tf({1, 3}, {1, 2, 3});
  OpCall big{"Expand", 13, {row, ti64({2}, {40000, 1})}};
  big.threads = 4;
  Tensor y = run1(big);
  ASSERT_EQ(y.size(), 120000);
  EXPECT_EQ(y.data<float>()[119999], 3.0f);
  EXPECT_EQ(y.data<float>()[60001], 2.0f);
  expect_error({"Expand", 13, {x, ti64({2}, {2, 2})}}, "cannot be broadcast");
}

TEST(Tile, RepeatsAndTile1) {
  Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_f(run1({"Tile", 13, {x, ti64({2}, {2, 1})}}), {4, 3}, {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  expect_f(run1({"Tile", 13, {x, ti64({2}, {1, 2})}}), {2, 6}, {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  EXPECT_EQ(run1({"Tile", 13, {x, ti64({2}, {0, 2})}}).size(), 0);
  expect_f(run1({"Tile", 1, {x, ti64({}, {2}), ti64({}, {1})}}), {2, 6}, {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  expect_error({"Tile", 13, {x, ti64({1}, {2})}}, "rank");
}

// Independent reference: walk out-of-range coordinates back into [0, n).
int64_t ref_source(const std::string& mode, int64_t s, int64_t n) {
  if (s >= 0 && s < n) return s;
  if (mode == "constant") return -1;
  if (mode == "edge") return s < 0 ? 0 : n - 1;
  if (mode == "wrap") {
    while (s < 0) s += n;
    while (s >= n) s -= n;
    return s;
  }
  if (n == 1) return 0;
  while (s < 0 || s >= n) s = s < 0 ? -s : 2 * (n - 1) - s;  // reflect
  return s;
}

TEST(Pad, AllModesRandomAgainstReference) {
  std::mt19937 rng(3);
  const Shape shape = {3, 4, 5};
  Tensor x = iota_f(shape);
  for (std::string mode : {"constant", "reflect", "edge", "wrap"}) {
    for (int trial = 0; trial < 60; ++trial) {
      std::vector<int64_t> pads(6);
      for (int k = 0; k < 6; ++k) {
        int64_t n = shape[k % 3];
        int64_t lo = -(n - 1), hi = mode == "constant" || mode == "edge" ? 6 : n - 1;
        pads[k] = lo + static_cast<int64_t>(rng() % static_cast<uint32_t>(hi - lo + 1));
      }
      // Crops on both sides must leave at least one element for the non-constant modes.
      bool ok = true;
      for (int k = 0; k < 3; ++k) ok = ok && shape[k] + std::min<int64_t>(pads[k], 0) + std::min<int64_t>(pads[k + 3], 0) >= 1;
      if (!ok) continue;
      Tensor y = run1({"Pad", 18, {x, ti64({6}, pads), tf({}, {-1})}, {attr_s("mode", mode)}});
      Shape os(3);
      for (int k = 0; k < 3; ++k) os[k] = shape[k] + pads[k] + pads[k + 3];
      ASSERT_EQ(shape_to_string(y.shape()), shape_to_string(os)) << mode;
      std::vector<float> want;
      for (int64_t a = 0; a < os[0]; ++a)
        for (int64_t b = 0; b < os[1]; ++b)
          for (int64_t c = 0; c < os[2]; ++c) {
            int64_t sa = ref_source(mode, a - pads[0], 3), sb = ref_source(mode, b - pads[1], 4), sc = ref_source(mode, c - pads[2], 5);
            want.push_back(sa < 0 || sb < 0 || sc < 0 ? -1.0f : static_cast<float>((sa * 4 + sb) * 5 + sc));
          }
      ASSERT_EQ(values_of<float>(y), want) << mode << " pads " << shape_to_string(pads);
    }
  }
}

TEST(Pad, ReflectBeyondOnePeriod) {
  Tensor x = tf({3}, {1, 2, 3});
  // numpy: np.pad([1,2,3], (5,5), 'reflect')
  expect_f(run1({"Pad", 18, {x, ti64({2}, {5, 5})}, {attr_s("mode", "reflect")}}), {13}, {2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2});
  // Wrap is periodic. (numpy differs once a pad exceeds the axis: it wraps partly padded data.)
  expect_f(run1({"Pad", 19, {x, ti64({2}, {4, 2})}, {attr_s("mode", "wrap")}}), {9}, {3, 1, 2, 3, 1, 2, 3, 1, 2});
}

TEST(Pad, AxesInputAndOldAttributes) {
  Tensor x = tf({2, 2}, {1, 2, 3, 4});
  expect_f(run1({"Pad", 18, {x, ti64({2}, {1, 0}), std::nullopt, ti64({1}, {-1})}}), {2, 3}, {0, 1, 2, 0, 3, 4});
  expect_f(run1({"Pad", 2, {x}, {attr_ints("pads", {0, 1, 0, 0}), attr_f("value", 7)}}), {2, 3}, {7, 1, 2, 7, 3, 4});
  expect_f(run1({"Pad", 1, {x}, {attr_ints("paddings", {1, 0, 0, 0}), attr_s("mode", "edge")}}), {3, 2}, {1, 2, 1, 2, 3, 4});
  Tensor s = run1({"Pad", 11, {ts({1}, {"a"}), ti64({2}, {1, 1}), ts({}, {"-"})}});
  EXPECT_EQ(values_of<std::string>(s), (std::vector<std::string>{"-", "a", "-"}));
  Tensor i = run1({"Pad", 11, {ti32({2}, {5, 6}), ti64({2}, {0, 1}), ti32({}, {9})}});
  EXPECT_EQ(values_of<int32_t>(i), (std::vector<int32_t>{5, 6, 9}));
}

TEST(Pad, Errors) {
  Tensor x = tf({2}, {1, 2});
  expect_error({"Pad", 18, {x, ti64({1}, {1})}}, "pads has 1 entries");
  expect_error({"Pad", 18, {x, ti64({2}, {-3, 0})}}, "below zero");
  expect_error({"Pad", 18, {x, ti64({2}, {1, 1})}, {attr_s("mode", "mirror")}}, "unknown mode");
  expect_error({"Pad", 18, {zeros(DataType::float32, {0}), ti64({2}, {1, 1})}, {attr_s("mode", "edge")}}, "empty axis");
}

}  // namespace
}  // namespace tessera::kernel_test
