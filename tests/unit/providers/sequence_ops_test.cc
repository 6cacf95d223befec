// Sequence kernels run one at a time: construction, insert/erase/at with negative positions,
// split and concat along inner axes, and the errors for bad positions and mismatched items.
#include "tests/unit/providers/kernel_test_util.h"

namespace tessera::kernel_test {
namespace {

Value seq3() { return Value::sequence({tf({1}, {1}), tf({2}, {2, 3}), tf({1}, {4})}); }

TEST(SequenceOps, EmptyAndConstruct) {
  auto empty = run_op({"SequenceEmpty", 11, {}, {attr_i("dtype", static_cast<int64_t>(DataType::int32))}});
  const Value& e = first_output(empty);
  ASSERT_TRUE(e.is_sequence());
  EXPECT_TRUE(e.items().empty());
  EXPECT_EQ(e.sequence_elem_type(), DataType::int32);

  auto made = run_op({"SequenceConstruct", 11, {Value(tf({1}, {1})), Value(tf({2}, {2, 3}))}});
  const Value& s = first_output(made);
  ASSERT_TRUE(s.is_sequence());
  ASSERT_EQ(s.items().size(), 2u);
  EXPECT_EQ(s.items()[1].tensor().data<float>()[1], 3);

  auto mixed = run_op({"SequenceConstruct", 11, {Value(tf({1}, {1})), Value(ti64({1}, {2}))}});
  ASSERT_FALSE(mixed.is_ok());
}

TEST(SequenceOps, InsertAtAndErase) {
  auto back = run_op({"SequenceInsert", 11, {seq3(), Value(tf({1}, {9}))}});
  ASSERT_EQ(first_output(back).items().size(), 4u);
  EXPECT_EQ(first_output(back).items()[3].tensor().data<float>()[0], 9);

  auto front = run_op({"SequenceInsert", 11, {seq3(), Value(tf({1}, {9})), Value(ti32({}, {-3}))}});
  EXPECT_EQ(first_output(front).items()[0].tensor().data<float>()[0], 9);

  auto at = run_op({"SequenceAt", 11, {seq3(), Value(ti64({}, {-2}))}});
  expect_tensor<float>(first_output(at), {2}, {2, 3});
  EXPECT_FALSE(run_op({"SequenceAt", 11, {seq3(), Value(ti64({}, {3}))}}).is_ok());

  auto erased = run_op({"SequenceErase", 11, {seq3(), Value(ti64({}, {0}))}});
  ASSERT_EQ(first_output(erased).items().size(), 2u);
  EXPECT_EQ(first_output(erased).items()[0].tensor().data<float>()[0], 2);
  auto erased_last = run_op({"SequenceErase", 11, {seq3()}});
  ASSERT_EQ(first_output(erased_last).items().size(), 2u);
  EXPECT_EQ(first_output(erased_last).items()[1].tensor().data<float>()[1], 3);

  auto len = run_op({"SequenceLength", 11, {seq3()}});
  expect_tensor<int64_t>(first_output(len), {}, {3});
}

TEST(SequenceOps, SplitToSequence) {
  Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  // Default: chunks of 1 along axis; keepdims=0 drops it.
  auto cols = run_op({"SplitToSequence", 11, {Value(x)}, {attr_i("axis", 1), attr_i("keepdims", 0)}});
  ASSERT_EQ(first_output(cols).items().size(), 3u);
  expect_tensor<float>(Value(first_output(cols).items()[2]), {2}, {3, 6});
  // Scalar split: equal chunks with a shorter last one.
  auto chunks = run_op({"SplitToSequence", 11, {Value(x), Value(ti64({}, {2}))}, {attr_i("axis", -1)}});
  ASSERT_EQ(first_output(chunks).items().size(), 2u);
  expect_tensor<float>(Value(first_output(chunks).items()[0]), {2, 2}, {1, 2, 4, 5});
  expect_tensor<float>(Value(first_output(chunks).items()[1]), {2, 1}, {3, 6});
  // 1-D split along axis 0 (views of the input rows).
  auto rows = run_op({"SplitToSequence", 11, {Value(x), Value(ti64({2}, {1, 1}))}});
  expect_tensor<float>(Value(first_output(rows).items()[1]), {1, 3}, {4, 5, 6});
  EXPECT_FALSE(run_op({"SplitToSequence", 11, {Value(x), Value(ti64({2}, {1, 3}))}, {attr_i("axis", 1)}}).is_ok());
}

TEST(SequenceOps, ConcatFromSequence) {
  Value s = Value::sequence({tf({2, 1}, {1, 2}), tf({2, 2}, {3, 4, 5, 6})});
  auto cat = run_op({"ConcatFromSequence", 11, {s}, {attr_i("axis", 1)}});
  expect_tensor<float>(first_output(cat), {2, 3}, {1, 3, 4, 2, 5, 6});

  Value same = Value::sequence({tf({2}, {1, 2}), tf({2}, {3, 4})});
  auto stacked_last = run_op({"ConcatFromSequence", 11, {same}, {attr_i("axis", -1), attr_i("new_axis", 1)}});
  expect_tensor<float>(first_output(stacked_last), {2, 2}, {1, 3, 2, 4});
  auto stacked_first = run_op({"ConcatFromSequence", 11, {same}, {attr_i("axis", 0), attr_i("new_axis", 1)}});
  expect_tensor<float>(first_output(stacked_first), {2, 2}, {1, 2, 3, 4});

  auto bad = run_op({"ConcatFromSequence", 11, {s}, {attr_i("axis", 0)}});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("sequence item 1"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(run_op({"ConcatFromSequence", 11, {Value::sequence({}, DataType::float32)}, {attr_i("axis", 0)}}).is_ok());

  // Stacking along an axis valid for item 0's rank but not a later item's (found by
  // fuzz_session_run: the dim was inserted past the end of the smaller shape).
  Value ranks = Value::sequence({tf({1, 2}, {1, 2}), tf({2}, {3, 4})});
  auto mixed = run_op({"ConcatFromSequence", 11, {ranks}, {attr_i("axis", 2), attr_i("new_axis", 1)}});
  ASSERT_FALSE(mixed.is_ok());
  EXPECT_NE(mixed.status().message().find("sequence item 1"), std::string::npos) << mixed.status().message();
}

// Sequences hold any value: maps (as ZipMap makes) and sequences go in and come out whole.
TEST(SequenceOps, SequencesOfMapsAndOfSequences) {
  Value m1 = Value::map(ti64({2}, {0, 1}), tf({2}, {0.25f, 0.75f}));
  Value m2 = Value::map(ti64({2}, {0, 1}), tf({2}, {0.5f, 0.5f}));
  auto inserted = run_op({"SequenceInsert", 11, {Value::sequence({m1}), m2, Value(ti64({}, {0}))}});
  ASSERT_TRUE(inserted.is_ok()) << inserted.status().message();
  const Value& maps = first_output(inserted);
  ASSERT_EQ(maps.items().size(), 2u);
  EXPECT_EQ(maps.sequence_elem_kind(), Value::Kind::map);
  EXPECT_EQ(values_of<float>(maps.items()[0].map_values()), (std::vector<float>{0.5f, 0.5f}));
  auto at = run_op({"SequenceAt", 11, {maps, Value(ti64({}, {-1}))}});
  ASSERT_TRUE(first_output(at).is_map());
  EXPECT_EQ(values_of<float>(first_output(at).map_values()), (std::vector<float>{0.25f, 0.75f}));
  expect_tensor<int64_t>(first_output(run_op({"SequenceLength", 11, {maps}})), {}, {2});

  // A map does not fit a sequence of tensors, nor a tensor a sequence of maps.
  expect_error({"SequenceInsert", 11, {seq3(), m1}}, "map(int64,float) does not fit a seq(tensor(float))");
  expect_error({"SequenceInsert", 11, {maps, Value(tf({1}, {1}))}}, "does not fit a seq(map(int64,float))");
  expect_error({"SequenceInsert", 11, {Value::sequence({}, DataType::float32), m1}}, "does not fit");
  expect_error({"ConcatFromSequence", 11, {maps}, {attr_i("axis", 0)}}, "not a sequence of tensors");

  auto nested = run_op({"SequenceInsert", 11, {Value::sequence({seq3()}), seq3()}});
  ASSERT_TRUE(nested.is_ok()) << nested.status().message();
  ASSERT_EQ(first_output(nested).items().size(), 2u);
  EXPECT_EQ(first_output(nested).items()[1].items()[1].tensor().data<float>()[1], 3);
  auto erased = run_op({"SequenceErase", 11, {first_output(nested)}});
  EXPECT_EQ(first_output(erased).sequence_elem_kind(), Value::Kind::sequence);
  expect_error({"SequenceInsert", 11, {first_output(nested), Value(tf({1}, {1}))}}, "does not fit");
}

}  // namespace
}  // namespace tessera::kernel_test
