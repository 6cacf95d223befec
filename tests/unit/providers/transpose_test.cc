// Transpose: every permutation of small odd shapes against a naive index mapping, the tiled and
// threaded paths on bigger shapes, element sizes 1/2/8/16, strings, the default perm.
#include <algorithm>
#include <numeric>

#include "tests/unit/providers/kernel_test_util.h"
#include "tests/unit/test_tensors.h"

namespace tessera::kernel_test {
namespace {

// out[i] = in[j] where the out coordinates are the in coordinates permuted.
template <class T>
std::vector<T> naive_transpose(const Tensor& in, const std::vector<int64_t>& perm) {
  const Shape& s = in.shape();
  const size_t r = s.size();
  std::vector<int64_t> in_strides(r, 1);
  for (size_t k = r; k-- > 1;) in_strides[k - 1] = in_strides[k] * s[k];
  Shape os(r);
  for (size_t k = 0; k < r; ++k) os[k] = s[perm[k]];
  std::vector<T> out(static_cast<size_t>(in.size()));
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < in.size(); ++i) {
    int64_t off = 0;
    for (size_t k = 0; k < r; ++k) off += idx[k] * in_strides[perm[k]];
    out[i] = in.data<T>()[off];
    for (size_t k = r; k-- > 0;)
      if (++idx[k] < os[k]) break;
      else idx[k] = 0;
  }
  return out;
}

void check_all_perms(const Shape& shape, int threads = 1) {
  Tensor x = iota_f(shape);
  std::vector<int64_t> perm(shape.size());
  std::iota(perm.begin(), perm.end(), 0);
  do {
    OpCall call{"Transpose", 13, {x}, {attr_ints("perm", perm)}};
    call.threads = threads;
    Tensor y = run1(call);
    ASSERT_EQ(values_of<float>(y), naive_transpose<float>(x, perm)) << "shape " << shape_to_string(shape) << " perm " << shape_to_string(perm);
    for (size_t k = 0; k < perm.size(); ++k) ASSERT_EQ(y.dim(k), shape[perm[k]]);
  } while (std::next_permutation(perm.begin(), perm.end()));
}

TEST(Transpose, AllPermsSmallOddShapes) {
  check_all_perms({3, 5});
  check_all_perms({2, 3, 5});
  check_all_perms({1, 3, 1, 5});
  check_all_perms({2, 3, 5, 7});
  check_all_perms({3, 1, 2, 1, 5});
}

TEST(Transpose, TiledAndThreaded) {
  check_all_perms({37, 53});         // tiled 2-D
  check_all_perms({3, 33, 19, 17});  // tiles with outer dims
  check_all_perms({70, 65, 31}, 4);  // big enough to split over threads
}

TEST(Transpose, DefaultPermReverses) {
  Tensor x = iota_f({2, 3, 4});
  Tensor y = run1({"Transpose", 13, {x}});
  EXPECT_EQ(shape_to_string(y.shape()), "[4,3,2]");
  EXPECT_EQ(values_of<float>(y), naive_transpose<float>(x, {2, 1, 0}));
}

TEST(Transpose, ElementSizes) {
  Tensor b = zeros(DataType::uint8, {5, 17, 18});
  for (int64_t i = 0; i < b.size(); ++i) b.data<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
  EXPECT_EQ(values_of<uint8_t>(run1({"Transpose", 13, {b}, {attr_ints("perm", {2, 0, 1})}})), naive_transpose<uint8_t>(b, {2, 0, 1}));
  Tensor h = th({3, 20, 17}, std::vector<float>(1020, 0));
  for (int64_t i = 0; i < h.size(); ++i) h.data<float16_t>()[i].bits = static_cast<uint16_t>(i);
  Tensor hy = run1({"Transpose", 13, {h}, {attr_ints("perm", {1, 2, 0})}});
  auto want = naive_transpose<float16_t>(h, {1, 2, 0});
  for (int64_t i = 0; i < hy.size(); ++i) ASSERT_EQ(hy.data<float16_t>()[i].bits, want[i].bits);
  Tensor l = zeros(DataType::int64, {5, 33, 40});
  for (int64_t i = 0; i < l.size(); ++i) l.data<int64_t>()[i] = i * 1000003;
  EXPECT_EQ(values_of<int64_t>(run1({"Transpose", 13, {l}, {attr_ints("perm", {2, 0, 1})}})), naive_transpose<int64_t>(l, {2, 0, 1}));
  EXPECT_EQ(values_of<int64_t>(run1({"Transpose", 13, {l}, {attr_ints("perm", {0, 2, 1})}})), naive_transpose<int64_t>(l, {0, 2, 1}));
  Tensor c = zeros(DataType::complex128, {3, 19});
  for (int64_t i = 0; i < c.size() * 2; ++i) c.data<double>()[i] = static_cast<double>(i);
  Tensor cy = run1({"Transpose", 13, {c}});
  for (int64_t i = 0; i < 19; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      ASSERT_EQ(cy.data<double>()[2 * (i * 3 + j)], c.data<double>()[2 * (j * 19 + i)]);
      ASSERT_EQ(cy.data<double>()[2 * (i * 3 + j) + 1], c.data<double>()[2 * (j * 19 + i) + 1]);
    }
}

TEST(Transpose, Strings) {
  Tensor s = ts({2, 3}, {"a", "b", "c", "d", "e", "f"});
  Tensor y = run1({"Transpose", 13, {s}});
  EXPECT_EQ(values_of<std::string>(y), (std::vector<std::string>{"a", "d", "b", "e", "c", "f"}));
}

TEST(Transpose, OnlyUnitDimsMovedAliases) {
  Tensor x = iota_f({1, 3, 1, 5});
  Tensor y = run1({"Transpose", 13, {x}, {attr_ints("perm", {1, 0, 3, 2})}});
  EXPECT_TRUE(y.shares_buffer_with(x));
  EXPECT_EQ(shape_to_string(y.shape()), "[3,1,5,1]");
}

TEST(Transpose, BadPerm) {
  expect_error({"Transpose", 13, {iota_f({2, 3})}, {attr_ints("perm", {0, 0})}}, "not a permutation");
  expect_error({"Transpose", 13, {iota_f({2, 3})}, {attr_ints("perm", {0})}}, "rank");
}

}  // namespace
}  // namespace tessera::kernel_test
