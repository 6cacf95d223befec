#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

// Numpy broadcasting computed the slow, obvious way: a multi-index per output element.
std::vector<float> naive_broadcast_add(const Tensor& a, const Tensor& b, const Shape& out) {
  std::vector<float> result(static_cast<size_t>(shape_size(out)));
  const size_t rank = out.size();
  auto offset = [&](const Shape& s, const std::vector<int64_t>& idx) {
    int64_t off = 0;
    const size_t lead = rank - s.size();
    for (size_t d = 0; d < s.size(); ++d) off = off * s[d] + (s[d] == 1 ? 0 : idx[lead + d]);
    return off;
  };
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < result.size(); ++i) {
    int64_t rem = static_cast<int64_t>(i);
    for (size_t d = rank; d-- > 0;) {
      idx[d] = rem % out[d];
      rem /= out[d];
    }
    result[i] = a.data<float>()[offset(a.shape(), idx)] + b.data<float>()[offset(b.shape(), idx)];
  }
  return result;
}

TEST(BinaryElementwise, AddBroadcasts2x1x3With4x1) {
  Tensor a = tf({2, 1, 3}, {0, 1, 2, 10, 20, 30});
  Tensor b = tf({4, 1}, {100, 200, 300, 400});
  Tensor y = run1(OpCall("Add", 14, {a, b}));
  expect_shape(y, DataType::float32, {2, 4, 3});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{100, 101, 102, 200, 201, 202, 300, 301, 302, 400, 401, 402,
                                                      110, 120, 130, 210, 220, 230, 310, 320, 330, 410, 420, 430}));
}

TEST(BinaryElementwise, MatchesNaiveBroadcastOnOddShapes) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 1, 5, 1}, {1, 4, 1, 7}}, {{7}, {3, 1}},       {{}, {2, 3}},          {{2, 3}, {}},
      {{1}, {1}},                   {{5, 1, 1}, {5, 1, 1}}, {{2, 1, 3, 1, 2}, {4, 1, 1, 2}}, {{1, 9}, {9, 1}},
      {{0, 3}, {1, 3}},             {{6, 1, 8}, {6, 1, 8}}, {{2, 3, 4}, {1, 3, 1}},  {{2, 3, 4}, {2, 1, 4}},
      // Short rows repeated against a contiguous input (the tiled path), both ways round.
      {{1001, 3}, {3}},             {{3}, {700, 3}},     {{5, 7, 2}, {1, 1, 2}},   {{333, 1}, {1, 3}},
      // A row repeated over the middle dims (the blocked layout's [N, C/16, H, W, 16] *
      // [N, C/16, 1, 1, 16]), both ways round, rows of whole vectors or not, long rows.
      {{2, 3, 5, 5, 16}, {2, 3, 1, 1, 16}}, {{2, 3, 1, 1, 8}, {2, 3, 4, 4, 8}}, {{1, 2, 3, 3, 12}, {1, 2, 1, 1, 12}},
      {{3, 5, 40}, {3, 1, 40}},
      // Empty outputs.
      {{2, 0, 4}, {2, 0, 4}},       {{4, 0, 3}, {3}},    {{0}, {}},              {{2, 0}, {1, 1}},
  };
  uint32_t seed = 1;
  for (const auto& [sa, sb] : cases) {
    Tensor a = random_f(sa, seed++, -10.0f, 10.0f);
    Tensor b = random_f(sb, seed++, -10.0f, 10.0f);
    Tensor y = run1(OpCall("Add", 14, {a, b}));
    auto want_shape = y.shape();
    EXPECT_EQ(values_of<float>(y), naive_broadcast_add(a, b, want_shape))
        << shape_to_string(sa) << " + " << shape_to_string(sb);
  }
}

TEST(BinaryElementwise, ThreadedBroadcastMatchesNaive) {
  // Large enough to be split across threads, with runs cut mid-way by the chunk boundaries.
  Tensor a = random_f({37, 1, 1531}, 7, -10.0f, 10.0f);
  Tensor b = random_f({29, 1}, 8, -10.0f, 10.0f);
  OpCall call("Add", 14, {a, b});
  call.threads = 4;
  Tensor y = run1(call);
  EXPECT_EQ(values_of<float>(y), naive_broadcast_add(a, b, {37, 29, 1531}));
}

TEST(BinaryElementwise, ThreadedTiledRowsMatchNaive) {
  Tensor a = random_f({40000, 3}, 9, -10.0f, 10.0f);
  Tensor b = random_f({3}, 10, -10.0f, 10.0f);
  OpCall call("Add", 14, {a, b});
  call.threads = 4;
  EXPECT_EQ(values_of<float>(run1(call)), naive_broadcast_add(a, b, {40000, 3}));
  OpCall swapped("Add", 14, {b, a});
  swapped.threads = 4;
  EXPECT_EQ(values_of<float>(run1(swapped)), naive_broadcast_add(b, a, {40000, 3}));
  // Bool output through the same path.
  Tensor lt = run1(OpCall("Less", 13, {tf({4, 2}, {0, 5, 2, 1, 9, 9, -1, 3}), tf({2}, {1, 2})}));
  EXPECT_EQ(bools_of(lt), (std::vector<bool>{true, false, false, true, false, false, true, false}));
}

// Sub tells apart which operand is the repeated row.
TEST(BinaryElementwise, RepeatedRowKeepsTheOperandOrder) {
  const Tensor full = random_f({2, 3, 4, 4, 16}, 31, -10.0f, 10.0f), row = random_f({2, 3, 1, 1, 16}, 32, -10.0f, 10.0f);
  std::vector<float> minus, minus_swapped;
  for (int64_t i = 0; i < full.size(); ++i) {
    const float x = full.data<float>()[i], v = row.data<float>()[(i / (16 * 16)) * 16 + i % 16];
    minus.push_back(x - v);
    minus_swapped.push_back(v - x);
  }
  for (int threads : {1, 3}) {
    OpCall call("Sub", 14, {full, row});
    call.threads = threads;
    EXPECT_EQ(values_of<float>(run1(call)), minus) << threads << " threads";
    OpCall swapped("Sub", 14, {row, full});
    swapped.threads = threads;
    EXPECT_EQ(values_of<float>(run1(swapped)), minus_swapped) << threads << " threads";
  }
}

// One value per row of the other input ([N, C, H, W] against [N, C, 1, 1], squeeze-and-excitation's
// Mul): Sub tells the operand order apart, both ways round, rows not a multiple of the vector,
// one and several threads, and a bool output.
TEST(BinaryElementwise, ValuePerRowMatchesNaive) {
  const Tensor planes = random_f({2, 300, 7, 7}, 21, -10.0f, 10.0f), per_row = random_f({2, 300, 1, 1}, 22, -10.0f, 10.0f);
  std::vector<float> minus, minus_swapped;
  std::vector<bool> less;
  for (int64_t i = 0; i < planes.size(); ++i) {
    const float x = planes.data<float>()[i], v = per_row.data<float>()[i / 49];
    minus.push_back(x - v);
    minus_swapped.push_back(v - x);
    less.push_back(x < v);
  }
  for (int threads : {1, 4}) {
    OpCall call("Sub", 14, {planes, per_row});
    call.threads = threads;
    Tensor y = run1(call);
    expect_shape(y, DataType::float32, {2, 300, 7, 7});
    EXPECT_EQ(values_of<float>(y), minus) << threads << " threads";
    OpCall swapped("Sub", 14, {per_row, planes});
    swapped.threads = threads;
    EXPECT_EQ(values_of<float>(run1(swapped)), minus_swapped) << threads << " threads";
    OpCall compare("Less", 13, {planes, per_row});
    compare.threads = threads;
    EXPECT_EQ(bools_of(run1(compare)), less) << threads << " threads";
  }
}

TEST(BinaryElementwise, ScalarAndSpanOrders) {
  EXPECT_EQ(values_of<float>(run1(OpCall("Sub", 14, {tf({}, {10}), tf({3}, {1, 2, 3})}))), (std::vector<float>{9, 8, 7}));
  EXPECT_EQ(values_of<float>(run1(OpCall("Sub", 14, {tf({3}, {1, 2, 3}), tf({1}, {10})}))), (std::vector<float>{-9, -8, -7}));
  Tensor both = run1(OpCall("Mul", 14, {tf({1, 1}, {3}), tf({}, {4})}));
  expect_shape(both, DataType::float32, {1, 1});
  EXPECT_EQ(values_of<float>(both), (std::vector<float>{12}));
}

TEST(BinaryElementwise, IncompatibleShapesNameTheNode) {
  expect_error(OpCall("Add", 14, {tf({2, 3}, {0, 0, 0, 0, 0, 0}), tf({4}, {0, 0, 0, 0})}), "cannot be broadcast");
  expect_error(OpCall("Add", 14, {tf({1}, {0}), ti32({1}, {0})}), "same type");
}

TEST(BinaryElementwise, Float16ComputesInFloatAndRoundsOnce) {
  Tensor y = run1(OpCall("Add", 14, {th({4}, {1.0f, 0.5f, 65504.0f, -2.0f}), th({1}, {0.000977f})}));
  expect_shape(y, DataType::float16, {4});
  std::vector<float> got = floats_of(y);
  EXPECT_EQ(got[0], half_to_float(float_to_half(1.0f + half_to_float(float_to_half(0.000977f)))));
  EXPECT_EQ(got[2], 65504.0f);
  Tensor z = run1(OpCall("Mul", 14, {tbf({2}, {3.0f, -1.5f}), tbf({2}, {2.0f, 2.0f})}));
  EXPECT_EQ(floats_of(z), (std::vector<float>{6.0f, -3.0f}));
}

TEST(BinaryElementwise, Float16ComparisonsAndLongRuns) {
  // Long enough for the vector path, with a scalar on either side.
  std::vector<float> v;
  for (int i = 0; i < 100; ++i) v.push_back(static_cast<float>(i % 7) - 3.0f);
  Tensor a = th({100}, v);
  std::vector<bool> want_gt, want_lt;
  for (float x : v) want_gt.push_back(x > 0.5f), want_lt.push_back(0.5f < x);
  EXPECT_EQ(bools_of(run1(OpCall("Greater", 13, {a, th({}, {0.5f})}))), want_gt);
  EXPECT_EQ(bools_of(run1(OpCall("Less", 13, {th({1}, {0.5f}), a}))), want_lt);
  Tensor sum = run1(OpCall("Add", 14, {a, a}));
  std::vector<float> twice;
  for (float x : v) twice.push_back(2 * x);
  EXPECT_EQ(floats_of(sum), twice);
}

TEST(BinaryElementwise, IntegerArithmeticWraps) {
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("Add", 14, {ti32({2}, {INT32_MAX, 5}), ti32({1}, {1})}))),
            (std::vector<int32_t>{INT32_MIN, 6}));
  EXPECT_EQ(values_of<int64_t>(run1(OpCall("Mul", 14, {ti64({1}, {INT64_MAX}), ti64({1}, {2})}))),
            (std::vector<int64_t>{-2}));
  Tensor u16 = make<uint16_t>(DataType::uint16, {1}, {65535});
  EXPECT_EQ(values_of<uint16_t>(run1(OpCall("Mul", 14, {u16, u16}))), (std::vector<uint16_t>{1}));
}

TEST(BinaryElementwise, IntegerDivTruncatesAndSurvivesZero) {
  Tensor y = run1(OpCall("Div", 14, {ti32({5}, {7, -7, 7, -7, INT32_MIN}), ti32({5}, {2, 2, -2, 0, -1})}));
  EXPECT_EQ(values_of<int32_t>(y), (std::vector<int32_t>{3, -3, -3, 0, INT32_MIN}));
}

TEST(BinaryElementwise, ModFollowsDivisorSignUnlessFmod) {
  Tensor a = ti32({4}, {5, -5, 5, -5});
  Tensor b = ti32({4}, {3, 3, -3, -3});
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("Mod", 13, {a, b}))), (std::vector<int32_t>{2, 1, -1, -2}));
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("Mod", 13, {a, b}, {attr_i("fmod", 1)}))), (std::vector<int32_t>{2, -2, 2, -2}));
  Tensor f = run1(OpCall("Mod", 13, {tf({2}, {5.5f, -5.5f}), tf({2}, {2.0f, 2.0f})}, {attr_i("fmod", 1)}));
  EXPECT_EQ(values_of<float>(f), (std::vector<float>{1.5f, -1.5f}));
}

TEST(BinaryElementwise, PowMixesBaseAndExponentTypes) {
  Tensor fi = run1(OpCall("Pow", 15, {tf({3}, {2, 3, 4}), ti64({3}, {3, 2, -1})}));
  expect_shape(fi, DataType::float32, {3});
  EXPECT_EQ(values_of<float>(fi), (std::vector<float>{8, 9, 0.25f}));
  Tensor i_f = run1(OpCall("Pow", 15, {ti32({3}, {4, 9, 2}), tf({3}, {0.5f, 0.5f, 3.0f})}));
  expect_shape(i_f, DataType::int32, {3});
  EXPECT_EQ(values_of<int32_t>(i_f), (std::vector<int32_t>{2, 3, 8}));
  Tensor ii = run1(OpCall("Pow", 15, {ti64({4}, {3, -2, 2, 1}), ti64({4}, {4, 3, -1, -5})}));
  EXPECT_EQ(values_of<int64_t>(ii), (std::vector<int64_t>{81, -8, 0, 1}));
  Tensor sq = run1(OpCall("Pow", 15, {tf({3}, {-3, 0.5f, 4}), tf({}, {2})}));
  EXPECT_EQ(values_of<float>(sq), (std::vector<float>{9, 0.25f, 16}));
}

TEST(BinaryElementwise, BitShiftAndBitwise) {
  Tensor a = make<uint8_t>(DataType::uint8, {4}, {1, 2, 255, 16});
  Tensor b = make<uint8_t>(DataType::uint8, {4}, {1, 3, 8, 2});
  EXPECT_EQ(values_of<uint8_t>(run1(OpCall("BitShift", 11, {a, b}, {attr_s("direction", "LEFT")}))),
            (std::vector<uint8_t>{2, 16, 0, 64}));
  EXPECT_EQ(values_of<uint8_t>(run1(OpCall("BitShift", 11, {a, b}, {attr_s("direction", "RIGHT")}))),
            (std::vector<uint8_t>{0, 0, 0, 4}));
  expect_error(OpCall("BitShift", 11, {a, b}, {attr_s("direction", "UP")}), "direction");
  EXPECT_EQ(values_of<int32_t>(run1(OpCall("BitwiseXor", 18, {ti32({2}, {6, -1}), ti32({1}, {3})}))),
            (std::vector<int32_t>{5, -4}));
}

TEST(BinaryElementwise, ComparisonsGiveBool) {
  Tensor a = tf({2, 2}, {1, 2, 3, std::nanf("")});
  Tensor b = tf({2}, {2, 2});
  Tensor lt = run1(OpCall("Less", 13, {a, b}));
  expect_shape(lt, DataType::boolean, {2, 2});
  EXPECT_EQ(bools_of(lt), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(bools_of(run1(OpCall("GreaterOrEqual", 16, {a, b}))), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(bools_of(run1(OpCall("Equal", 19, {ts({3}, {"a", "bb", ""}), ts({1}, {"bb"})}))),
            (std::vector<bool>{false, true, false}));
  EXPECT_EQ(bools_of(run1(OpCall("Xor", 7, {tb({2, 2}, {true, true, false, false}), tb({2}, {true, false})}))),
            (std::vector<bool>{false, true, true, false}));
}

TEST(BinaryElementwise, LegacyBroadcastWithAxis) {
  // Add-6: B of shape [3] placed on axis 1 of A [2,3,2].
  Tensor a = tf({2, 3, 2}, {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1});
  Tensor b = tf({3}, {10, 20, 30});
  Tensor y = run1(OpCall("Add", 6, {a, b}, {attr_i("broadcast", 1), attr_i("axis", 1)}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{10, 10, 20, 20, 30, 30, 11, 11, 21, 21, 31, 31}));
}

TEST(BinaryElementwise, PReluSlopeBroadcastsOntoX) {
  Tensor x = tf({2, 3}, {-1, 2, -3, 4, -5, 6});
  EXPECT_EQ(values_of<float>(run1(OpCall("PRelu", 16, {x, tf({3}, {0.1f, 0.2f, 0.3f})}))),
            (std::vector<float>{-0.1f, 2, -0.90000004f, 4, -1.0f, 6}));
  // Legacy models: a 1-D slope that matches exactly one axis of X (here axis 0).
  Tensor z = run1(OpCall("PRelu", 6, {tf({2, 3}, {-1, -1, -1, -1, -1, -1}), tf({2}, {1, 2})}));
  EXPECT_EQ(values_of<float>(z), (std::vector<float>{-1, -1, -1, -2, -2, -2}));
  expect_error(OpCall("PRelu", 16, {x, tf({4}, {1, 1, 1, 1})}), "slope");
}

TEST(BinaryElementwise, SwiGluNeedsEqualShapes) {
  Tensor y = run1(OpCall("SwiGLU", 28, {tf({2}, {0, 2}), tf({2}, {5, 3})}));
  expect_near_all(values_of<float>(y), {0.0f, 2.0f / (1.0f + std::exp(-2.0f)) * 3.0f});
  expect_error(OpCall("SwiGLU", 28, {tf({2}, {0, 2}), tf({1}, {5})}), "same shape");
}

}  // namespace
}  // namespace tessera::kernel_test
