// InlineVector: std::vector's behaviour, inline up to N elements and on the heap past that.
#include "tessera/inline_vector.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {
namespace {

using V = InlineVector<int64_t, 4>;

std::vector<int64_t> as_vector(const V& v) { return std::vector<int64_t>(v.begin(), v.end()); }

TEST(InlineVector, ConstructsLikeAVector) {
  EXPECT_EQ(as_vector(V{}), std::vector<int64_t>{});
  EXPECT_EQ(as_vector(V(3)), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(as_vector(V(2, 7)), (std::vector<int64_t>{7, 7}));
  EXPECT_EQ(as_vector(V{1, 2, 3}), (std::vector<int64_t>{1, 2, 3}));
  const std::vector<int64_t> big{1, 2, 3, 4, 5, 6};
  EXPECT_EQ(as_vector(V(big)), big);
  EXPECT_EQ(as_vector(V(big.begin() + 1, big.end() - 1)), (std::vector<int64_t>{2, 3, 4, 5}));
  const std::vector<int> narrow{9, 8};  // another element type: converted one by one
  EXPECT_EQ(as_vector(V(narrow.begin(), narrow.end())), (std::vector<int64_t>{9, 8}));
  EXPECT_EQ(static_cast<std::vector<int64_t>>(V{4, 5}), (std::vector<int64_t>{4, 5}));
}

TEST(InlineVector, StaysInlineUpToNAndGrowsOntoTheHeap) {
  V v;
  for (int64_t i = 0; i < 4; ++i) v.push_back(i);
  EXPECT_EQ(v.capacity(), 4u);
  const int64_t* inline_data = v.data();
  v.push_back(4);  // past N
  EXPECT_GE(v.capacity(), 5u);
  EXPECT_NE(v.data(), inline_data);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  v.push_back(v[0]);  // an element of its own, while it may move
  EXPECT_EQ(v.back(), 0);

  V copy = v;  // a heap copy is deep
  copy[0] = 42;
  EXPECT_EQ(v[0], 0);
  V moved = std::move(copy);  // a heap move takes the block
  EXPECT_EQ(moved[0], 42);
  EXPECT_EQ(moved.size(), 6u);
  EXPECT_TRUE(copy.empty());  // NOLINT: moved-from is empty by contract

  V small{1, 2};
  V small_moved = std::move(small);
  EXPECT_EQ(as_vector(small_moved), (std::vector<int64_t>{1, 2}));
  small_moved = moved;  // inline <- heap
  EXPECT_EQ(as_vector(small_moved), as_vector(moved));
  moved = V{7};  // heap <- inline
  EXPECT_EQ(as_vector(moved), std::vector<int64_t>{7});
}

TEST(InlineVector, InsertsErasesAndResizesAsAVectorDoes) {
  V v{1, 4};
  v.insert(v.begin() + 1, {2, 3});
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 3, 4}));
  v.insert(v.begin(), 2, 0);  // past N
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{0, 0, 1, 2, 3, 4}));
  v.insert(v.end(), v.begin(), v.begin() + 3);  // a range of its own
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{0, 0, 1, 2, 3, 4, 0, 0, 1}));
  v.erase(v.begin(), v.begin() + 2);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 3, 4, 0, 0, 1}));
  v.erase(v.end() - 1);
  v.resize(3);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 3}));
  v.resize(5, 9);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 3, 9, 9}));
  v.assign(2, 5);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{5, 5}));
  v.pop_back();
  EXPECT_EQ(v.emplace_back(6), 6);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{5, 6}));
  v.clear();
  EXPECT_TRUE(v.empty());
}

TEST(InlineVector, ComparesElementWise) {
  EXPECT_EQ(V({1, 2}), V({1, 2}));
  EXPECT_NE(V({1, 2}), V({1, 2, 3}));
  EXPECT_LT(V({1, 2}), V({1, 3}));
  EXPECT_LT(V({1, 2}), V({1, 2, 0}));
  EXPECT_EQ(V({1, 2, 3, 4, 5}), std::vector<int64_t>({1, 2, 3, 4, 5}));  // a heap one against a vector
}

TEST(InlineVector, ChecksIndicesAndSizesAsAVectorDoes) {
  V v{3, 4};
  EXPECT_EQ(v.at(1), 4);
  v.at(0) = 5;
  EXPECT_EQ(std::as_const(v).at(0), 5);
  EXPECT_THROW((void)v.at(2), std::out_of_range);
  // A size whose bytes overflow size_t is refused, not allocated short.
  EXPECT_THROW(V(SIZE_MAX / 4), std::length_error);
  EXPECT_THROW(v.resize(v.max_size() + 1), std::length_error);
  EXPECT_EQ(v.size(), 2u);
}

// Shape is the inline vector: the shape of a tensor of rank <= 6 lives inside the tensor, so
// making, copying and moving one allocates nothing; rank 7 still works, on the heap.
TEST(InlineVector, ShapeHoldsSixDimsInline) {
  Shape s{1, 2, 3, 4, 5, 6};
  EXPECT_EQ(s.capacity(), 6u);
  const Shape copy = s;
  EXPECT_EQ(copy.capacity(), 6u);
  EXPECT_EQ(copy, s);
  s.push_back(7);
  EXPECT_GT(s.capacity(), 6u);
  EXPECT_EQ(shape_size(s), 5040);
  EXPECT_EQ(shape_to_string(s), "[1,2,3,4,5,6,7]");
}

}  // namespace
}  // namespace tessera
