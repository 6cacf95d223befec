// StringNormalizer, StringConcat, StringSplit and RegexFullMatch: values, shapes and UTF-8.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

TEST(StringOps, NormalizerDropsStopwordsAndChangesCase) {
  Tensor x = ts({1, 4}, {"Monday", "tuesday", "MONDAY", "Straße"});
  auto upper = run_op({"StringNormalizer", 10, {Value(x)},
                       {attr_s("case_change_action", "UPPER"), attr_strings("stopwords", {"monday"})}});
  expect_tensor<std::string>(first_output(upper), {1, 2}, {"TUESDAY", "STRAßE"});  // ß has no one-letter capital

  auto sensitive = run_op({"StringNormalizer", 10, {Value(ts({3}, {"monday", "Monday", "é"}))},
                           {attr_s("case_change_action", "UPPER"), attr_i("is_case_sensitive", 1),
                            attr_strings("stopwords", {"monday"})}});
  expect_tensor<std::string>(first_output(sensitive), {2}, {"MONDAY", "É"});

  auto all_gone = run_op({"StringNormalizer", 10, {Value(ts({2}, {"a", "A"}))}, {attr_strings("stopwords", {"a"})}});
  expect_tensor<std::string>(first_output(all_gone), {1}, {""});

  EXPECT_FALSE(run_op({"StringNormalizer", 10, {Value(ts({2, 2}, {"a", "b", "c", "d"}))}}).is_ok());
}

TEST(StringOps, ConcatBroadcasts) {
  auto r = run_op({"StringConcat", 20, {Value(ts({2, 1}, {"a", "b"})), Value(ts({3}, {"1", "2", "3"}))}});
  expect_tensor<std::string>(first_output(r), {2, 3}, {"a1", "a2", "a3", "b1", "b2", "b3"});
  auto scalar = run_op({"StringConcat", 20, {Value(ts({}, {"的"})), Value(ts({}, {"中"}))}});
  expect_tensor<std::string>(first_output(scalar), {}, {"的中"});
}

TEST(StringOps, SplitPadsAndCounts) {
  auto r = run_op({"StringSplit", 20, {Value(ts({3}, {"a-b", "--", "c"}))}, {attr_s("delimiter", "-")}, 2});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_tensor<std::string>((*r)[0], {3, 3}, {"a", "b", "", "", "", "", "c", "", ""});
  expect_tensor<int64_t>((*r)[1], {3}, {2, 3, 1});

  auto ws = run_op({"StringSplit", 20, {Value(ts({2}, {"  x  y z ", ""}))}, {attr_i("maxsplit", 1)}, 2});
  ASSERT_TRUE(ws.is_ok()) << ws.status().message();
  expect_tensor<std::string>((*ws)[0], {2, 2}, {"x", "y z ", "", ""});
  expect_tensor<int64_t>((*ws)[1], {2}, {2, 0});
}

TEST(StringOps, RegexFullMatch) {
  auto r = run_op({"RegexFullMatch", 20, {Value(ts({3}, {"www.a.com", "www.a.com/x", "abc"}))},
                   {attr_s("pattern", R"(www\.[\w.-]+\.\bcom\b)")}});
  expect_tensor<bool>(first_output(r), {3}, {true, false, false});
  auto bad = run_op({"RegexFullMatch", 20, {Value(ts({1}, {"a"}))}, {attr_s("pattern", "(")}});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("pattern"), std::string::npos);
}

}  // namespace
}  // namespace tessera::kernel_test
