// TfIdfVectorizer on the spec's examples and on string pools, weighting modes and edge cases.
#include <string>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

// The spec's pool: unigrams 2 3 5 4, bigrams (5,6) (7,8) (6,7); output coordinates 0..6.
std::vector<Attribute> spec_attrs(int64_t min_gram, int64_t max_gram, int64_t skip, const std::string& mode = "TF") {
  return {attr_i("min_gram_length", min_gram), attr_i("max_gram_length", max_gram), attr_i("max_skip_count", skip),
          attr_s("mode", mode), attr_ints("ngram_counts", {0, 4}), attr_ints("ngram_indexes", {0, 1, 2, 3, 4, 5, 6}),
          attr_ints("pool_int64s", {2, 3, 5, 4, 5, 6, 7, 8, 6, 7})};
}

void expect_floats(const Tensor& t, const Shape& shape, const std::vector<float>& want) {
  ASSERT_EQ(t.dtype(), DataType::float32);
  ASSERT_EQ(shape_to_string(t.shape()), shape_to_string(shape));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.data<float>()[i], want[i]) << "element " << i;
}

const std::vector<int32_t> kSpecInput = {1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8};

TEST(TfIdfVectorizer, SpecExamples) {
  expect_floats(run1({"TfIdfVectorizer", 9, {ti32({12}, kSpecInput)}, spec_attrs(2, 2, 0)}), {7},
                {0, 0, 0, 0, 1, 1, 1});
  expect_floats(run1({"TfIdfVectorizer", 9, {ti32({12}, kSpecInput)}, spec_attrs(2, 2, 5)}), {7},
                {0, 0, 0, 0, 1, 3, 1});
  expect_floats(run1({"TfIdfVectorizer", 9, {ti32({12}, kSpecInput)}, spec_attrs(1, 2, 5)}), {7},
                {0, 3, 1, 0, 1, 3, 1});
  // Batched, with int64 input and several threads.
  std::vector<int64_t> batch(kSpecInput.begin(), kSpecInput.end());
  expect_floats(run1({"TfIdfVectorizer", 9, {ti64({2, 6}, batch)}, spec_attrs(1, 2, 5), 1, 2}), {2, 7},
                {0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1});
}

TEST(TfIdfVectorizer, StringPoolAndWeights) {
  std::vector<Attribute> attrs = {attr_i("min_gram_length", 1), attr_i("max_gram_length", 2), attr_i("max_skip_count", 0),
                                  attr_ints("ngram_counts", {0, 2}), attr_ints("ngram_indexes", {1, 0, 2}),
                                  attr_strings("pool_strings", {"a", "b", "a", "b"}), attr_floats("weights", {0.5f, 2, 3})};
  const Tensor x = ts({6}, {"a", "b", "a", "x", "a", "b"});
  // Counts: "a" 3 (coordinate 1), "b" 2 (coordinate 0), "a b" 2 (coordinate 2).
  attrs.push_back(attr_s("mode", "TF"));
  expect_floats(run1({"TfIdfVectorizer", 9, {x}, attrs}), {3}, {2, 3, 2});
  attrs.back() = attr_s("mode", "IDF");
  expect_floats(run1({"TfIdfVectorizer", 9, {x}, attrs}), {3}, {0.5f, 2, 3});
  attrs.back() = attr_s("mode", "TFIDF");
  expect_floats(run1({"TfIdfVectorizer", 9, {x}, attrs}), {3}, {1, 6, 6});
}

TEST(TfIdfVectorizer, EmptyLevelsAndEmptyInput) {
  // No unigrams in the pool (ngram_counts [0, 0]): only the bigrams count.
  std::vector<Attribute> attrs = {attr_i("min_gram_length", 2), attr_i("max_gram_length", 2), attr_i("max_skip_count", 0),
                                  attr_s("mode", "TF"), attr_ints("ngram_counts", {0, 0}), attr_ints("ngram_indexes", {0, 1, 2}),
                                  attr_ints("pool_int64s", {5, 6, 7, 8, 6, 7})};
  expect_floats(run1({"TfIdfVectorizer", 9, {ti32({12}, kSpecInput)}, attrs}), {3}, {1, 1, 1});
  expect_floats(run1({"TfIdfVectorizer", 9, {ti32({2, 0}, {})}, attrs}), {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(TfIdfVectorizer, RejectsBadAttributesAndInputs) {
  auto attrs = spec_attrs(1, 2, 0);
  attrs.push_back(attr_strings("pool_strings", {"a"}));
  expect_error({"TfIdfVectorizer", 9, {ti32({3}, {1, 2, 3})}, attrs}, "exactly one of pool_int64s and pool_strings");
  expect_error({"TfIdfVectorizer", 9, {ti32({3}, {1, 2, 3})}, spec_attrs(1, 2, 0, "BM25")}, "mode must be");
  expect_error({"TfIdfVectorizer", 9, {ts({1}, {"a"})}, spec_attrs(1, 2, 0)}, "pool_int64s needs integer input");
  expect_error({"TfIdfVectorizer", 9, {ti32({1, 1, 1}, {1})}, spec_attrs(1, 2, 0)}, "X must have shape");
}

}  // namespace
}  // namespace tessera::kernel_test
