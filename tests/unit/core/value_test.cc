// Value: the kinds ONNX types hold, and the difference between an empty optional and no value.
#include "tessera/value.h"

#include <gtest/gtest.h>
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

Tensor floats(std::vector<float> v) { return tensor_of<float>(DataType::float32, {static_cast<int64_t>(v.size())}, v); }

TEST(Value, AbsentAndEmptyOptionalDiffer) {
  Value absent;
  EXPECT_TRUE(absent.is_absent());
  EXPECT_FALSE(absent.is_empty_optional());
  Value empty = Value::empty_optional();
  EXPECT_TRUE(empty.is_empty_optional());
  EXPECT_FALSE(empty.is_absent());
  EXPECT_EQ(value_type_string(absent), "no value");
  EXPECT_EQ(value_type_string(empty), "an empty optional");
}

TEST(Value, SequenceOfSequences) {
  Value inner = Value::sequence({floats({1, 2}), floats({3})});
  Value outer = Value::sequence({inner, Value::sequence({}, DataType::float32)});
  EXPECT_EQ(outer.sequence_elem_kind(), Value::Kind::sequence);
  EXPECT_EQ(outer.sequence_elem_type(), DataType::undefined);
  ASSERT_EQ(outer.items().size(), 2u);
  EXPECT_EQ(outer.items()[0].items()[1].tensor().data<float>()[0], 3);
  EXPECT_EQ(outer.items()[1].sequence_elem_type(), DataType::float32);
  EXPECT_EQ(value_type_string(outer), "seq(seq(tensor(float)))");
}

TEST(Value, SequenceTakesItsElementTypeFromItsItems) {
  Value s = Value::sequence({tensor_of<int64_t>(DataType::int64, {1}, {4})}, DataType::float32);
  EXPECT_EQ(s.sequence_elem_kind(), Value::Kind::tensor);
  EXPECT_EQ(s.sequence_elem_type(), DataType::int64);
  Value empty = Value::sequence({}, DataType::int32);
  EXPECT_EQ(empty.sequence_elem_type(), DataType::int32);
  EXPECT_EQ(value_type_string(empty), "seq(tensor(int32))");
}

TEST(Value, MapsAndSequencesOfMaps) {
  Tensor keys = zeros(DataType::string, {2});
  keys.data<std::string>()[0] = "a";
  keys.data<std::string>()[1] = "b";
  Value m = Value::map(keys, floats({0.25f, 0.75f}));
  ASSERT_TRUE(m.is_map());
  EXPECT_EQ(m.map_keys().data<std::string>()[1], "b");
  EXPECT_EQ(m.map_values().data<float>()[1], 0.75f);
  EXPECT_EQ(value_type_string(m), "map(string,float)");
  Value s = Value::sequence({m, m});
  EXPECT_EQ(s.sequence_elem_kind(), Value::Kind::map);
  EXPECT_EQ(value_type_string(s), "seq(map(string,float))");
  EXPECT_EQ(value_type_string(Value::sequence({}, DataType::undefined, Value::Kind::map)), "seq(map(?))");
}

}  // namespace
}  // namespace tessera
