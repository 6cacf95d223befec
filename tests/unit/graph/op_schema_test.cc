#include "graph/op_schema.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

Node make_node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs) {
  Node n;
  n.name = "n";
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

TEST(OpSchema, ResolvesTheVersionInForce) {
  const OpSchema* conv = find_schema("", "Conv", 17);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->since_version, 11);
  EXPECT_EQ(conv->min_inputs, 2);
  EXPECT_EQ(conv->max_inputs, 3);
  ASSERT_NE(conv->attribute("group"), nullptr);
  EXPECT_EQ(conv->attribute("group")->default_value, "1");
  EXPECT_TRUE(conv->inputs[2].optional);
  EXPECT_EQ(find_schema("", "Conv", 10)->since_version, 1);
  EXPECT_EQ(find_schema("", "Relu", 14)->since_version, 14);
  EXPECT_EQ(find_schema("", "Gelu", 19), nullptr);  // Gelu arrived in opset 20
  EXPECT_NE(find_schema("ai.onnx.ml", "Binarizer", 1), nullptr);
}

TEST(OpSchema, ChecksCountsAttributesAndTypes) {
  std::map<std::string, TypeInfo> types;
  TypeInfo f32{TypeInfo::Kind::tensor, DataType::float32, std::nullopt, nullptr};
  TypeInfo f64{TypeInfo::Kind::tensor, DataType::float64, std::nullopt, nullptr};
  TypeInfo i64{TypeInfo::Kind::tensor, DataType::int64, std::nullopt, nullptr};
  types["a"] = f32;
  types["b"] = f64;
  types["i"] = i64;

  EXPECT_TRUE(check_node(make_node("Add", {"a", "a"}, {"y"}), 17, types).is_ok());
  Status mixed = check_node(make_node("Add", {"a", "b"}, {"y"}), 17, types);
  EXPECT_FALSE(mixed.is_ok());
  EXPECT_NE(mixed.message().find("already tensor(float)"), std::string::npos) << mixed.message();

  Status too_few = check_node(make_node("Add", {"a"}, {"y"}), 17, types);
  EXPECT_NE(too_few.message().find("has 1 inputs"), std::string::npos) << too_few.message();

  Status bad_type = check_node(make_node("Relu", {"i"}, {"y"}), 6, types);  // int64 Relu only from opset 14
  EXPECT_FALSE(bad_type.is_ok());
  EXPECT_TRUE(check_node(make_node("Relu", {"i"}, {"y"}), 14, types).is_ok());

  Status missing_attr = check_node(make_node("Cast", {"a"}, {"y"}), 13, types);
  EXPECT_NE(missing_attr.message().find("required attribute 'to'"), std::string::npos) << missing_attr.message();

  Status unknown = check_node(make_node("NoSuchOp", {"a"}, {"y"}), 13, types);
  EXPECT_EQ(unknown.code(), StatusCode::not_implemented);
  EXPECT_NE(unknown.message().find("not an operator of domain ai.onnx"), std::string::npos);

  Status too_new = check_node(make_node("Gelu", {"a"}, {"y"}), 18, types);
  EXPECT_NE(too_new.message().find("first appears in opset 20"), std::string::npos) << too_new.message();
}

}  // namespace
}  // namespace tessera
