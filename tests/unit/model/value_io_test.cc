// .pb value files: TensorProto, SequenceProto, OptionalProto and MapProto in both directions.
#include "model/value_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "onnx.pb.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

class ValueIo : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tessera_value_io_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

TypeInfo tensor_type(DataType dtype) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::tensor;
  t.elem_type = dtype;
  return t;
}

TypeInfo wrap(TypeInfo::Kind kind, TypeInfo inner) {
  TypeInfo t;
  t.kind = kind;
  t.inner = std::make_shared<TypeInfo>(std::move(inner));
  return t;
}

TEST_F(ValueIo, TensorRoundTrip) {
  auto t = tensor_of<int64_t>(DataType::int64, {2, 2}, {1, -2, 3, -4});
  ASSERT_TRUE(write_value_file(file("t.pb"), "out", Value(t)).is_ok());
  auto back = read_value_file(file("t.pb"), tensor_type(DataType::int64));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->name, "out");
  ASSERT_TRUE(back->value.is_tensor());
  EXPECT_EQ(back->value.tensor().shape(), (Shape{2, 2}));
  EXPECT_EQ(back->value.tensor().data<int64_t>()[3], -4);
  // Unknown kind reads as a tensor.
  EXPECT_TRUE(read_value_file(file("t.pb"), TypeInfo{}).is_ok());
}

TEST_F(ValueIo, SequenceRoundTrip) {
  std::vector<Value> items = {tensor_of<float>(DataType::float32, {2}, {1, 2}),
                              tensor_of<float>(DataType::float32, {1}, {3})};
  ASSERT_TRUE(write_value_file(file("s.pb"), "seq", Value::sequence(items)).is_ok());
  auto back = read_value_file(file("s.pb"), wrap(TypeInfo::Kind::sequence, tensor_type(DataType::float32)));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_TRUE(back->value.is_sequence());
  EXPECT_EQ(back->value.sequence_elem_type(), DataType::float32);
  ASSERT_EQ(back->value.items().size(), 2u);
  EXPECT_EQ(back->value.items()[1].tensor().data<float>()[0], 3);

  // An empty sequence keeps the element type from the declared type.
  ASSERT_TRUE(write_value_file(file("e.pb"), "", Value::sequence({}, DataType::int32)).is_ok());
  auto empty = read_value_file(file("e.pb"), wrap(TypeInfo::Kind::sequence, tensor_type(DataType::int32)));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->value.items().empty());
  EXPECT_EQ(empty->value.sequence_elem_type(), DataType::int32);
}

TEST_F(ValueIo, Optionals) {
  ASSERT_TRUE(write_value_file(file("none.pb"), "o", Value::empty_optional()).is_ok());
  auto opt_tensor = wrap(TypeInfo::Kind::optional, tensor_type(DataType::float32));
  auto none = read_value_file(file("none.pb"), opt_tensor);
  ASSERT_TRUE(none.is_ok()) << none.status().message();
  EXPECT_TRUE(none->value.is_empty_optional());
  EXPECT_EQ(none->name, "o");

  // An optional holding a tensor reads as that tensor.
  onnx::OptionalProto proto;
  proto.set_elem_type(1);
  auto* t = proto.mutable_tensor_value();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(2.5f);
  std::ofstream(file("some.pb"), std::ios::binary) << proto.SerializeAsString();
  auto some = read_value_file(file("some.pb"), opt_tensor);
  ASSERT_TRUE(some.is_ok()) << some.status().message();
  ASSERT_TRUE(some->value.is_tensor());
  EXPECT_EQ(some->value.tensor().data<float>()[0], 2.5f);

  // An element type without a value is still empty.
  proto.clear_tensor_value();
  std::ofstream(file("typed_none.pb"), std::ios::binary) << proto.SerializeAsString();
  auto typed_none = read_value_file(file("typed_none.pb"), opt_tensor);
  ASSERT_TRUE(typed_none.is_ok());
  EXPECT_TRUE(typed_none->value.is_empty_optional());

  // Declared optional, a value is written wrapped in an OptionalProto.
  ASSERT_TRUE(write_value_file(file("wrapped.pb"), "w", Value(Tensor::scalar<float>(DataType::float32, 4.5f)), opt_tensor).is_ok());
  onnx::OptionalProto wrapped;
  std::ifstream in(file("wrapped.pb"), std::ios::binary);
  ASSERT_TRUE(wrapped.ParseFromIstream(&in));
  EXPECT_EQ(wrapped.name(), "w");
  EXPECT_EQ(wrapped.elem_type(), 1);
  ASSERT_TRUE(wrapped.has_tensor_value());
  auto unwrapped = read_value_file(file("wrapped.pb"), opt_tensor);
  ASSERT_TRUE(unwrapped.is_ok()) << unwrapped.status().message();
  EXPECT_EQ(unwrapped->value.tensor().data<float>()[0], 4.5f);

  // There is nothing to write for a value that is absent.
  EXPECT_FALSE(write_value_file(file("absent.pb"), "a", Value()).is_ok());
}

TEST_F(ValueIo, MapRoundTrip) {
  Tensor keys = zeros(DataType::string, {2});
  keys.data<std::string>()[0] = "a";
  keys.data<std::string>()[1] = "b";
  auto values = tensor_of<float>(DataType::float32, {2}, {0.25f, 0.75f});
  ASSERT_TRUE(write_value_file(file("m.pb"), "m", Value::map(keys, values)).is_ok());
  TypeInfo type = wrap(TypeInfo::Kind::map, tensor_type(DataType::float32));
  type.elem_type = DataType::string;
  auto back = read_value_file(file("m.pb"), type);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_TRUE(back->value.is_map());
  EXPECT_EQ(back->value.map_keys().data<std::string>()[1], "b");
  EXPECT_EQ(back->value.map_values().data<float>()[1], 0.75f);

  auto int_keys = tensor_of<int64_t>(DataType::int64, {2}, {7, -3});
  ASSERT_TRUE(write_value_file(file("mi.pb"), "", Value::map(int_keys, values)).is_ok());
  type.elem_type = DataType::int64;
  auto ib = read_value_file(file("mi.pb"), type);
  ASSERT_TRUE(ib.is_ok()) << ib.status().message();
  EXPECT_EQ(ib->value.map_keys().data<int64_t>()[1], -3);
}

// seq(map(int64, float)), as ZipMap produces: the file onnx's Python reads with to_list.
TEST_F(ValueIo, SequenceOfMapsRoundTrip) {
  auto keys = tensor_of<int64_t>(DataType::int64, {3}, {0, 1, 2});
  Value seq = Value::sequence({Value::map(keys, tensor_of<float>(DataType::float32, {3}, {0.5f, 0.25f, 0.25f})),
                               Value::map(keys, tensor_of<float>(DataType::float32, {3}, {0.f, 0.9f, 0.1f}))});
  ASSERT_TRUE(write_value_file(file("sm.pb"), "probs", seq).is_ok());

  onnx::SequenceProto proto;
  std::ifstream in(file("sm.pb"), std::ios::binary);
  ASSERT_TRUE(proto.ParseFromIstream(&in));
  EXPECT_EQ(proto.elem_type(), 4);  // MAP
  ASSERT_EQ(proto.map_values_size(), 2);
  EXPECT_EQ(proto.map_values(1).key_type(), onnx::TensorProto::INT64);
  EXPECT_EQ(proto.map_values(1).keys(2), 2);
  EXPECT_EQ(proto.map_values(1).values().tensor_values_size(), 3);

  TypeInfo map_type = wrap(TypeInfo::Kind::map, tensor_type(DataType::float32));
  map_type.elem_type = DataType::int64;
  auto back = read_value_file(file("sm.pb"), wrap(TypeInfo::Kind::sequence, map_type));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_TRUE(back->value.is_sequence());
  EXPECT_EQ(back->value.sequence_elem_kind(), Value::Kind::map);
  ASSERT_EQ(back->value.items().size(), 2u);
  const Value& m = back->value.items()[1];
  ASSERT_TRUE(m.is_map());
  EXPECT_EQ(m.map_keys().data<int64_t>()[2], 2);
  EXPECT_EQ(m.map_values().data<float>()[1], 0.9f);
  EXPECT_EQ(value_type_string(back->value), "seq(map(int64,float))");

  // An empty sequence of maps still says it holds maps.
  ASSERT_TRUE(write_value_file(file("em.pb"), "", Value::sequence({}, DataType::undefined, Value::Kind::map)).is_ok());
  std::ifstream in2(file("em.pb"), std::ios::binary);
  ASSERT_TRUE(proto.ParseFromIstream(&in2));
  EXPECT_EQ(proto.elem_type(), 4);
}

TEST_F(ValueIo, SequenceOfSequencesRoundTrip) {
  Value inner1 = Value::sequence({tensor_of<int32_t>(DataType::int32, {2}, {1, 2})});
  Value inner2 = Value::sequence({}, DataType::int32);
  ASSERT_TRUE(write_value_file(file("ss.pb"), "", Value::sequence({inner1, inner2})).is_ok());
  auto back = read_value_file(file("ss.pb"), wrap(TypeInfo::Kind::sequence, wrap(TypeInfo::Kind::sequence, tensor_type(DataType::int32))));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->value.items().size(), 2u);
  ASSERT_TRUE(back->value.items()[0].is_sequence());
  EXPECT_EQ(back->value.items()[0].items()[0].tensor().data<int32_t>()[1], 2);
  EXPECT_TRUE(back->value.items()[1].items().empty());
  EXPECT_EQ(back->value.items()[1].sequence_elem_type(), DataType::int32);

  // Items of another kind than the sequence declares are an error, not a crash.
  onnx::SequenceProto mixed;
  mixed.set_elem_type(3);
  mixed.add_sequence_values();
  auto* t = mixed.add_tensor_values();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(1);
  std::ofstream(file("mixed.pb"), std::ios::binary) << mixed.SerializeAsString();
  auto bad = read_value_file(file("mixed.pb"), wrap(TypeInfo::Kind::sequence, TypeInfo{}));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("sequence element"), std::string::npos) << bad.status().message();
}

// seq(optional(tensor)): empty items stay empty optionals, the others their tensors.
TEST_F(ValueIo, SequenceOfOptionalsRoundTrip) {
  Value seq = Value::sequence({Value::empty_optional(), tensor_of<int64_t>(DataType::int64, {1}, {7})});
  EXPECT_EQ(seq.sequence_elem_kind(), Value::Kind::tensor);
  EXPECT_EQ(seq.sequence_elem_type(), DataType::int64);
  ASSERT_TRUE(write_value_file(file("so.pb"), "", seq).is_ok());
  onnx::SequenceProto proto;
  std::ifstream in(file("so.pb"), std::ios::binary);
  ASSERT_TRUE(proto.ParseFromIstream(&in));
  EXPECT_EQ(proto.elem_type(), 5);  // OPTIONAL
  ASSERT_EQ(proto.optional_values_size(), 2);
  EXPECT_FALSE(proto.optional_values(0).has_tensor_value());
  EXPECT_TRUE(proto.optional_values(1).has_tensor_value());

  auto back = read_value_file(file("so.pb"),
                              wrap(TypeInfo::Kind::sequence, wrap(TypeInfo::Kind::optional, tensor_type(DataType::int64))));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->value.items().size(), 2u);
  EXPECT_TRUE(back->value.items()[0].is_empty_optional());
  EXPECT_EQ(back->value.items()[1].tensor().data<int64_t>()[0], 7);
  EXPECT_EQ(value_type_string(back->value), "seq(tensor(int64))");
}

TEST_F(ValueIo, Errors) {
  auto missing = read_value_file(file("missing.pb"), TypeInfo{});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::io_error);
  EXPECT_NE(missing.status().message().find(file("missing.pb")), std::string::npos);

  std::ofstream(file("junk.pb"), std::ios::binary) << "\xff\xff\xff\xff\xff";
  auto junk = read_value_file(file("junk.pb"), TypeInfo{});
  ASSERT_FALSE(junk.is_ok());
  EXPECT_NE(junk.status().message().find("junk.pb"), std::string::npos);

  EXPECT_FALSE(write_value_file(dir_ + "/no/such/dir/x.pb", "", Value(Tensor::scalar<float>(DataType::float32, 1)))
                   .is_ok());
}

// From bytes (the fuzz target's entry point): the same decoding, errors start with the context.
TEST_F(ValueIo, FromBytes) {
  onnx::TensorProto proto;
  proto.set_name("x");
  proto.set_data_type(static_cast<int>(DataType::int32));
  proto.add_dims(3);
  for (int v : {7, -8, 9}) proto.add_int32_data(v);
  auto value = read_value_bytes(proto.SerializeAsString(), tensor_type(DataType::int32), dir_, "bytes of x");
  ASSERT_TRUE(value.is_ok()) << value.status().message();
  EXPECT_EQ(value->name, "x");
  EXPECT_EQ(value->value.tensor().data<int32_t>()[1], -8);

  proto.add_int32_data(10);  // four values for three elements
  auto bad = read_value_bytes(proto.SerializeAsString(), tensor_type(DataType::int32), dir_, "bytes of x");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message().rfind("bytes of x", 0), 0u) << bad.status().message();
  EXPECT_NE(bad.status().message().find("4 values, expected 3"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace tessera
