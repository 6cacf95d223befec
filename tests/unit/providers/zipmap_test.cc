// ZipMap: rows of class scores become a sequence of maps from the class labels to the scores.
#include <string>
#include <vector>

#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

OpCall zipmap(std::vector<std::optional<Value>> in, std::vector<Attribute> attrs) {
  OpCall c("ZipMap", 1, std::move(in), std::move(attrs));
  c.domain = "ai.onnx.ml";
  return c;
}

TEST(ZipMap, Int64LabelsOneMapPerRow) {
  auto r = run_op(zipmap({tf({2, 3}, {0.5f, 0.25f, 0.25f, 0.f, 0.9f, 0.1f})}, {attr_ints("classlabels_int64s", {10, 20, 30})}));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Value& seq = (*r)[0];
  ASSERT_TRUE(seq.is_sequence());
  EXPECT_EQ(seq.sequence_elem_kind(), Value::Kind::map);
  ASSERT_EQ(seq.items().size(), 2u);
  for (const Value& m : seq.items()) {
    ASSERT_TRUE(m.is_map());
    EXPECT_EQ(values_of<int64_t>(m.map_keys()), (std::vector<int64_t>{10, 20, 30}));
  }
  EXPECT_EQ(values_of<float>(seq.items()[0].map_values()), (std::vector<float>{0.5f, 0.25f, 0.25f}));
  EXPECT_EQ(values_of<float>(seq.items()[1].map_values()), (std::vector<float>{0.f, 0.9f, 0.1f}));
  EXPECT_EQ(value_type_string(seq), "seq(map(int64,float))");
}

TEST(ZipMap, StringLabelsAndOneRow) {
  auto r = run_op(zipmap({tf({2}, {0.75f, 0.25f})}, {attr_strings("classlabels_strings", {"cat", "dog"})}));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ((*r)[0].items().size(), 1u);
  const Value& m = (*r)[0].items()[0];
  EXPECT_EQ(values_of<std::string>(m.map_keys()), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(values_of<float>(m.map_values()), (std::vector<float>{0.75f, 0.25f}));
}

TEST(ZipMap, NoRowsGiveAnEmptySequenceOfMaps) {
  auto r = run_op(zipmap({tf({0, 2}, {})}, {attr_ints("classlabels_int64s", {0, 1})}));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE((*r)[0].items().empty());
  EXPECT_EQ((*r)[0].sequence_elem_kind(), Value::Kind::map);
}

TEST(ZipMap, Errors) {
  expect_error(zipmap({tf({1, 3}, {1, 2, 3})}, {attr_ints("classlabels_int64s", {0, 1})}), "[N, 2]");
  expect_error(zipmap({tf({1, 1, 2}, {1, 2})}, {attr_ints("classlabels_int64s", {0, 1})}), "[N, 2]");
  expect_error(zipmap({ti64({1, 2}, {1, 2})}, {attr_ints("classlabels_int64s", {0, 1})}), "must be float");
  expect_error(zipmap({tf({2}, {1, 2})}, {}), "exactly one of");
  expect_error(zipmap({tf({2}, {1, 2})}, {attr_ints("classlabels_int64s", {0, 1}), attr_strings("classlabels_strings", {"a", "b"})}),
               "exactly one of");
  expect_error(zipmap({std::nullopt}, {attr_ints("classlabels_int64s", {0, 1})}), "missing");
}

}  // namespace
}  // namespace tessera::kernel_test
