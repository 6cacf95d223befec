// KernelInfo's schema-backed answers: the resolved since_version and attribute defaults.
#include <gtest/gtest.h>

#include "framework/kernel.h"

namespace tessera {
namespace {

Node node_of(const std::string& op, const std::string& domain = "") {
  Node n;
  n.name = "n";
  n.op_type = op;
  n.domain = domain;
  return n;
}

TEST(KernelInfo, SinceVersionIsTheSchemaInForce) {
  const std::map<std::string, Tensor> none;
  const Node conv = node_of("Conv");
  EXPECT_EQ(KernelInfo(conv, 17, none).since_version(), 11);
  EXPECT_EQ(KernelInfo(conv, 22, none).since_version(), 22);
  EXPECT_EQ(KernelInfo(conv, 10, none).since_version(), 1);
  // Ops without a schema (custom domains) report the import.
  const Node custom = node_of("MyOp", "com.example");
  EXPECT_EQ(KernelInfo(custom, 3, none).since_version(), 3);
  EXPECT_EQ(KernelInfo(custom, 3, none).schema(), nullptr);
  // ONNX Runtime's contrib ops have schemas (graph/microsoft_op_schemas.inc).
  const Node fused = node_of("FusedConv", "com.microsoft");
  ASSERT_NE(KernelInfo(fused, 1, none).schema(), nullptr);
  EXPECT_EQ(KernelInfo(fused, 1, none).since_version(), 1);
  EXPECT_EQ(KernelInfo(fused, 1, none).attr_int("group"), 1);
}

TEST(KernelInfo, AttributeDefaultsComeFromTheSchema) {
  const std::map<std::string, Tensor> none;
  const Node leaky = node_of("LeakyRelu");
  EXPECT_FLOAT_EQ(KernelInfo(leaky, 16, none).attr_float("alpha"), 0.01f);
  Node pool = node_of("AveragePool");
  const KernelInfo pool_info(pool, 19, none);
  EXPECT_EQ(pool_info.attr_string("auto_pad"), "NOTSET");
  EXPECT_EQ(pool_info.attr_int("ceil_mode"), 0);
  EXPECT_EQ(pool_info.attr_int("count_include_pad"), 0);
  EXPECT_EQ(KernelInfo(node_of("ArgMax"), 13, none).attr_int("keepdims"), 1);
  EXPECT_EQ(KernelInfo(node_of("Softmax"), 13, none).attr_int("axis"), -1);
  EXPECT_EQ(KernelInfo(node_of("Softmax"), 11, none).attr_int("axis"), 1);
  // A value on the node wins; an attribute the schema does not know reads 0.
  Attribute a;
  a.name = "count_include_pad";
  a.type = Attribute::Type::int_;
  a.i = 1;
  pool.attributes[a.name] = a;
  EXPECT_EQ(KernelInfo(pool, 19, none).attr_int("count_include_pad"), 1);
  EXPECT_EQ(KernelInfo(pool, 19, none).attr_int("no_such_attribute"), 0);
}

}  // namespace
}  // namespace tessera
