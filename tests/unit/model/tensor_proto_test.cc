// TensorProto <-> Tensor: every wire form (raw_data, typed fields, packed sub-byte types,
// strings, complex, sparse) and the size checks.
#include "model/tensor_proto.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

Tensor round_trip(const Tensor& t) {
  onnx::TensorProto proto;
  EXPECT_TRUE(tensor_to_proto(t, "x", &proto).is_ok());
  EXPECT_EQ(proto.name(), "x");
  // Through bytes too, as a file would go.
  onnx::TensorProto parsed;
  EXPECT_TRUE(parsed.ParseFromString(proto.SerializeAsString()));
  auto back = tensor_from_proto(parsed, nullptr);
  EXPECT_TRUE(back.is_ok()) << back.status().message();
  return back.is_ok() ? back.value() : Tensor();
}

template <class T>
void expect_same(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.data<T>()[i], b.data<T>()[i]) << "element " << i;
}

TEST(TensorProto, RoundTripNumericTypes) {
  auto f = tensor_of<float>(DataType::float32, {2, 3}, {1.5f, -2, 3, 4, 5, 6.25f});
  expect_same<float>(f, round_trip(f));
  auto d = tensor_of<double>(DataType::float64, {2}, {1e300, -0.5});
  expect_same<double>(d, round_trip(d));
  auto i64 = tensor_of<int64_t>(DataType::int64, {3}, {INT64_MIN, 0, INT64_MAX});
  expect_same<int64_t>(i64, round_trip(i64));
  auto u8 = tensor_of<uint8_t>(DataType::uint8, {4}, {0, 1, 128, 255});
  expect_same<uint8_t>(u8, round_trip(u8));
  auto h = tensor_of<uint16_t>(DataType::float16, {2}, {0x3c00, 0xc000});
  expect_same<uint16_t>(h, round_trip(h));
  auto b = tensor_of<uint8_t>(DataType::boolean, {3}, {1, 0, 1});
  expect_same<uint8_t>(b, round_trip(b));
  Tensor c = zeros(DataType::complex64, {2});
  for (int i = 0; i < 4; ++i) c.data<float>()[i] = static_cast<float>(i + 1);
  EXPECT_EQ(round_trip(c).data<float>()[3], 4.0f);
  auto scalar = Tensor::scalar<int32_t>(DataType::int32, -7);
  expect_same<int32_t>(scalar, round_trip(scalar));
  Tensor empty = zeros(DataType::float32, {0, 3});
  expect_same<float>(empty, round_trip(empty));
}

TEST(TensorProto, RoundTripStrings) {
  Tensor s = zeros(DataType::string, {3});
  s.data<std::string>()[0] = "hello";
  s.data<std::string>()[1] = "";
  s.data<std::string>()[2] = std::string("a\0b", 3);
  onnx::TensorProto proto;
  ASSERT_TRUE(tensor_to_proto(s, "", &proto).is_ok());
  EXPECT_EQ(proto.string_data_size(), 3);
  EXPECT_FALSE(proto.has_raw_data());
  expect_same<std::string>(s, round_trip(s));
}

TEST(TensorProto, Int4IsPackedLowNibbleFirst) {
  auto t = tensor_of<int8_t>(DataType::int4, {5}, {1, -1, 7, -8, 3});
  onnx::TensorProto proto;
  ASSERT_TRUE(tensor_to_proto(t, "", &proto).is_ok());
  ASSERT_EQ(proto.raw_data().size(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(proto.raw_data()[0]), 0xF1);
  EXPECT_EQ(static_cast<uint8_t>(proto.raw_data()[1]), 0x87);
  EXPECT_EQ(static_cast<uint8_t>(proto.raw_data()[2]), 0x03);
  expect_same<int8_t>(t, round_trip(t));  // sign-extended back into int8
}

TEST(TensorProto, OtherSubByteTypes) {
  auto u4 = tensor_of<uint8_t>(DataType::uint4, {3}, {15, 0, 9});
  expect_same<uint8_t>(u4, round_trip(u4));
  auto f4 = tensor_of<uint8_t>(DataType::float4e2m1, {2}, {0x7, 0xF});
  expect_same<uint8_t>(f4, round_trip(f4));
  auto i2 = tensor_of<int8_t>(DataType::int2, {5}, {-2, -1, 0, 1, -2});
  onnx::TensorProto proto;
  ASSERT_TRUE(tensor_to_proto(i2, "", &proto).is_ok());
  ASSERT_EQ(proto.raw_data().size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(proto.raw_data()[0]), 0b01001110);  // lowest bits first
  expect_same<int8_t>(i2, round_trip(i2));
  auto u2 = tensor_of<uint8_t>(DataType::uint2, {4}, {3, 2, 1, 0});
  expect_same<uint8_t>(u2, round_trip(u2));
}

TEST(TensorProto, TypedFields) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::INT4);
  p.add_dims(3);
  p.add_int32_data(0xE2);  // elements 2, -2
  p.add_int32_data(0x09);  // element -7
  auto t = tensor_from_proto(p, nullptr);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->data<int8_t>()[0], 2);
  EXPECT_EQ(t->data<int8_t>()[1], -2);
  EXPECT_EQ(t->data<int8_t>()[2], -7);

  onnx::TensorProto u;
  u.set_data_type(onnx::TensorProto::UINT32);
  u.add_dims(2);
  u.add_uint64_data(4000000000u);
  u.add_uint64_data(1);
  auto ut = tensor_from_proto(u, nullptr);
  ASSERT_TRUE(ut.is_ok());
  EXPECT_EQ(ut->data<uint32_t>()[0], 4000000000u);

  onnx::TensorProto h;
  h.set_data_type(onnx::TensorProto::BFLOAT16);
  h.add_int32_data(0x3f80);
  auto ht = tensor_from_proto(h, nullptr);
  ASSERT_TRUE(ht.is_ok());
  EXPECT_EQ(ht->rank(), 0u);
  EXPECT_EQ(ht->data<uint16_t>()[0], 0x3f80);

  onnx::TensorProto c;
  c.set_data_type(onnx::TensorProto::COMPLEX128);
  c.add_dims(1);
  c.add_double_data(1.0);
  c.add_double_data(-2.0);
  auto ct = tensor_from_proto(c, nullptr);
  ASSERT_TRUE(ct.is_ok());
  EXPECT_EQ(ct->data<double>()[1], -2.0);
}

TEST(TensorProto, SizeMismatchesAreErrors) {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(2);
  p.add_dims(3);
  p.set_raw_data(std::string(20, '\0'));
  auto r = tensor_from_proto(p, nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("'w'"), std::string::npos);
  EXPECT_NE(r.status().message().find("24"), std::string::npos);

  p.clear_raw_data();
  p.add_float_data(1);
  EXPECT_FALSE(tensor_from_proto(p, nullptr).is_ok());

  p.clear_float_data();
  p.add_int64_data(1);  // wrong field for float
  auto wrong = tensor_from_proto(p, nullptr);
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("int64_data"), std::string::npos);

  onnx::TensorProto none;  // no data for a non-empty tensor
  none.set_data_type(onnx::TensorProto::INT64);
  none.add_dims(4);
  EXPECT_FALSE(tensor_from_proto(none, nullptr).is_ok());
}

TEST(TensorProto, AbsurdShapesAreRefused) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(-1);
  EXPECT_FALSE(tensor_from_proto(p, nullptr).is_ok());

  onnx::TensorProto big;
  big.set_data_type(onnx::TensorProto::DOUBLE);
  big.add_dims(int64_t{1} << 20);
  big.add_dims(int64_t{1} << 20);
  big.add_dims(int64_t{1} << 20);
  auto r = tensor_from_proto(big, nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("limits.max_tensor_elements"), std::string::npos) << r.status().message();

  onnx::TensorProto overflow;
  overflow.set_data_type(onnx::TensorProto::UINT8);
  for (int i = 0; i < 4; ++i) overflow.add_dims(INT64_MAX / 2);
  EXPECT_FALSE(tensor_from_proto(overflow, nullptr).is_ok());

  onnx::TensorProto unknown;
  unknown.set_data_type(99);
  EXPECT_FALSE(tensor_from_proto(unknown, nullptr).is_ok());
}

TEST(TensorProto, ExternalDataNeedsAFolder) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = p.add_external_data();
  e->set_key("location");
  e->set_value("w.bin");
  EXPECT_FALSE(tensor_from_proto(p, nullptr).is_ok());
  ExternalData from_bytes("");
  EXPECT_FALSE(tensor_from_proto(p, &from_bytes).is_ok());
}

TEST(TensorProto, SparseToDense) {
  onnx::SparseTensorProto s;
  s.add_dims(2);
  s.add_dims(3);
  auto* v = s.mutable_values();
  v->set_name("sp");
  v->set_data_type(onnx::TensorProto::FLOAT);
  v->add_dims(2);
  v->add_float_data(5);
  v->add_float_data(7);
  auto* idx = s.mutable_indices();
  idx->set_data_type(onnx::TensorProto::INT64);
  idx->add_dims(2);
  idx->add_int64_data(1);
  idx->add_int64_data(5);
  auto dense = tensor_from_sparse_proto(s, nullptr);
  ASSERT_TRUE(dense.is_ok()) << dense.status().message();
  EXPECT_EQ(dense->shape(), (Shape{2, 3}));
  EXPECT_EQ(dense->data<float>()[1], 5);
  EXPECT_EQ(dense->data<float>()[5], 7);
  EXPECT_EQ(dense->data<float>()[0], 0);

  // Per-axis indices [NNZ, rank].
  idx->Clear();
  idx->set_data_type(onnx::TensorProto::INT64);
  idx->add_dims(2);
  idx->add_dims(2);
  for (int64_t i : {0, 2, 1, 0}) idx->add_int64_data(i);
  dense = tensor_from_sparse_proto(s, nullptr);
  ASSERT_TRUE(dense.is_ok()) << dense.status().message();
  EXPECT_EQ(dense->data<float>()[2], 5);
  EXPECT_EQ(dense->data<float>()[3], 7);

  idx->set_int64_data(0, 9);  // out of range
  EXPECT_FALSE(tensor_from_sparse_proto(s, nullptr).is_ok());
}

}  // namespace
}  // namespace tessera
