// The session end to end on small models built in the test: feeds, outputs, errors, threads.
#include "tessera/session.h"

#include <gtest/gtest.h>

#include <thread>

#include "onnx.pb.h"
#include "tests/unit/test_tensors.h"

namespace tessera {
namespace {

namespace pb = tessera::onnx;

void add_tensor_info(pb::ValueInfoProto* info, const std::string& name, std::vector<int64_t> dims) {
  info->set_name(name);
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(1);  // float
  for (int64_t d : dims) {
    auto* dim = tensor_type->mutable_shape()->add_dim();
    if (d < 0) dim->set_dim_param("batch"); else dim->set_dim_value(d);
  }
}

// y = Relu(a + b) with a, b: float [batch, 3]; `op` replaces Relu when given.
std::string relu_add_model(const std::string& op = "Relu", int64_t opset = 17) {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(opset);
  auto* graph = model.mutable_graph();
  graph->set_name("relu_add");
  auto* add = graph->add_node();
  add->set_op_type("Add");
  add->add_input("a");
  add->add_input("b");
  add->add_output("sum");
  auto* relu = graph->add_node();
  relu->set_op_type(op);
  relu->add_input("sum");
  relu->add_output("y");
  add_tensor_info(graph->add_input(), "a", {-1, 3});
  add_tensor_info(graph->add_input(), "b", {-1, 3});
  add_tensor_info(graph->add_output(), "y", {-1, 3});
  return model.SerializeAsString();
}

Tensor floats(Shape shape, std::vector<float> values) { return tensor_of(DataType::float32, shape, values); }

TEST(Session, DescribesInputsAndRuns) {
  std::string bytes = relu_add_model();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  const Session& s = *session;
  ASSERT_EQ(s.inputs().size(), 2u);
  EXPECT_EQ(s.inputs()[0].name, "a");
  EXPECT_EQ(s.inputs()[0].dtype, DataType::float32);
  EXPECT_EQ(s.inputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(s.inputs()[0].dim_names[0], "batch");

  auto out = s.run({{"a", floats({2, 3}, {1, -2, 3, -4, 5, -6})}, {"b", floats({2, 3}, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5})}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  const Tensor& y = (*out)[0].tensor();
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  std::vector<float> expected{1.5, 0, 3.5, 0, 5.5, 0};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], expected[i]);
}

TEST(Session, RejectsBadFeedsWithClearErrors) {
  std::string bytes = relu_add_model();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok());
  const Session& s = *session;
  Tensor ok = floats({1, 3}, {1, 2, 3});

  auto missing = s.run({{"a", ok}});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("input 'b'"), std::string::npos) << missing.status().message();

  auto wrong_dtype = s.run({{"a", ok}, {"b", zeros(DataType::float64, {1, 3})}});
  ASSERT_FALSE(wrong_dtype.is_ok());
  EXPECT_NE(wrong_dtype.status().message().find("expected tensor(float)[batch,3], got tensor(double)[1,3]"), std::string::npos)
      << wrong_dtype.status().message();

  auto wrong_dim = s.run({{"a", ok}, {"b", floats({1, 4}, {1, 2, 3, 4})}});
  ASSERT_FALSE(wrong_dim.is_ok());
  EXPECT_NE(wrong_dim.status().message().find("dimension 1 differs"), std::string::npos) << wrong_dim.status().message();

  auto unknown = s.run({{"a", ok}, {"b", ok}, {"c", ok}});
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("no input named 'c'"), std::string::npos);
}

// has = OptionalHasElement(o), same = Identity(o), with o: optional(tensor(float)).
std::string optional_model() {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(18);
  auto* graph = model.mutable_graph();
  graph->set_name("optional");
  auto* has = graph->add_node();
  has->set_op_type("OptionalHasElement");
  has->add_input("o");
  has->add_output("has");
  auto* same = graph->add_node();
  same->set_op_type("Identity");
  same->add_input("o");
  same->add_output("same");
  auto* o = graph->add_input();
  o->set_name("o");
  o->mutable_type()->mutable_optional_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(1);
  auto* has_out = graph->add_output();
  has_out->set_name("has");
  has_out->mutable_type()->mutable_tensor_type()->set_elem_type(9);  // bool
  auto* same_out = graph->add_output();
  same_out->set_name("same");
  *same_out->mutable_type() = o->type();
  return model.SerializeAsString();
}

TEST(Session, OptionalInputsFedEmptyOrNotAtAll) {
  std::string bytes = optional_model();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  const Session& s = *session;
  // Not fed: the optional holds nothing.
  auto not_fed = s.run({});
  ASSERT_TRUE(not_fed.is_ok()) << not_fed.status().message();
  EXPECT_FALSE((*not_fed)[0].tensor().data<bool>()[0]);
  EXPECT_TRUE((*not_fed)[1].is_empty_optional());
  auto empty = s.run({{"o", Value::empty_optional()}});
  ASSERT_TRUE(empty.is_ok()) << empty.status().message();
  EXPECT_FALSE((*empty)[0].tensor().data<bool>()[0]);
  EXPECT_TRUE((*empty)[1].is_empty_optional());
  auto some = s.run({{"o", floats({1}, {2.5f})}});
  ASSERT_TRUE(some.is_ok()) << some.status().message();
  EXPECT_TRUE((*some)[0].tensor().data<bool>()[0]);
  EXPECT_EQ((*some)[1].tensor().data<float>()[0], 2.5f);
}

TEST(Session, TensorInputsRefuseEmptyOptionalsAndNoValue) {
  std::string bytes = relu_add_model();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok());
  auto empty = session->run({{"a", Value::empty_optional()}, {"b", floats({1, 3}, {0, 0, 0})}});
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.status().message().find("got an empty optional"), std::string::npos) << empty.status().message();
  auto absent = session->run({{"a", Value()}, {"b", floats({1, 3}, {0, 0, 0})}});
  ASSERT_FALSE(absent.is_ok());
  EXPECT_NE(absent.status().message().find("got no value"), std::string::npos) << absent.status().message();
}

TEST(Session, UnsupportedOpIsNamedAtLoad) {
  std::string bytes = relu_add_model("NotAnOp");
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(session.is_ok());
  EXPECT_NE(session.status().message().find("(NotAnOp)"), std::string::npos) << session.status().message();
  EXPECT_NE(session.status().message().find("domain ai.onnx"), std::string::npos) << session.status().message();
}

TEST(Session, RefusesAnOpsetNewerThanTheSchemaTable) {
  std::string bytes = relu_add_model("Relu", 29);
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_FALSE(session.is_ok());
  EXPECT_NE(session.status().message().find("imports opset 29 of domain 'ai.onnx', newer than the latest Tessera knows (28)"),
            std::string::npos)
      << session.status().message();
  bytes = relu_add_model("Relu", 28);
  EXPECT_TRUE(Session::load_from_bytes(bytes.data(), bytes.size()).is_ok());
}

TEST(Session, ConcurrentRunsGiveTheSameAnswer) {
  std::string bytes = relu_add_model();
  SessionOptions options;
  options.intra_op_threads = 2;
  auto session = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  ASSERT_TRUE(session.is_ok());
  const Session& s = *session;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 100; ++r) {
        float v = static_cast<float>(t * 1000 + r + 2);  // >= 2, so Relu(1 - v) is 0
        auto out = s.run({{"a", floats({1, 3}, {v, -v, v})}, {"b", floats({1, 3}, {1, 1, 1})}});
        if (!out.is_ok() || (*out)[0].tensor().data<float>()[0] != v + 1 || (*out)[0].tensor().data<float>()[1] != 0) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// y = Reshape(w, [3]) and z = Constant: both would share session memory (an initializer, a
// kernel's constant). Writing into the outputs of one run must not change the next run.
TEST(Session, OutputsNeverAliasSessionMemory) {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("aliases");
  auto* w = graph->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  w->add_dims(1);
  w->add_dims(3);
  for (float v : {1.f, 2.f, 3.f}) w->add_float_data(v);
  auto* shape = graph->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(7);
  shape->add_dims(1);
  shape->add_int64_data(3);
  auto* reshape = graph->add_node();
  reshape->set_op_type("Reshape");
  reshape->add_input("w");
  reshape->add_input("shape");
  reshape->add_output("y");
  auto* constant = graph->add_node();
  constant->set_op_type("Constant");
  constant->add_output("z");
  auto* value = constant->add_attribute();
  value->set_name("value");
  value->set_type(pb::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(1);
  value->mutable_t()->add_dims(2);
  value->mutable_t()->add_float_data(7);
  value->mutable_t()->add_float_data(8);
  add_tensor_info(graph->add_output(), "y", {3});
  add_tensor_info(graph->add_output(), "z", {2});
  std::string bytes = model.SerializeAsString();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok()) << session.status().message();

  auto first = session->run({});
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  for (Value& v : *first)
    for (float& x : v.tensor().span<float>()) x = -1;
  auto second = session->run({});
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  auto y = (*second)[0].tensor().span<const float>();
  auto z = (*second)[1].tensor().span<const float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(std::vector<float>(z.begin(), z.end()), (std::vector<float>{7, 8}));
}

// y = ConstantOfShape(shape) fed absurd shapes: each run is an error naming the node, never an
// exception, and the session keeps working.
TEST(Session, AbsurdSizesAtRunTimeAreAStatus) {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("fill");
  auto* fill = graph->add_node();
  fill->set_name("fill");
  fill->set_op_type("ConstantOfShape");
  fill->add_input("shape");
  fill->add_output("y");
  auto* in = graph->add_input();
  in->set_name("shape");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(7);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  add_tensor_info(graph->add_output(), "y", {-1, -1});
  std::string bytes = model.SerializeAsString();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok()) << session.status().message();

  const int64_t big = int64_t{1} << 40;
  for (std::vector<int64_t> dims : {std::vector<int64_t>{big, big}, {big, 16}, {-5, 3}}) {
    auto run = session->run({{"shape", tensor_of<int64_t>(DataType::int64, {2}, dims)}});
    ASSERT_FALSE(run.is_ok());
    EXPECT_NE(run.status().message().find("node 'fill' (ConstantOfShape)"), std::string::npos) << run.status().message();
  }
  auto fine = session->run({{"shape", tensor_of<int64_t>(DataType::int64, {2}, {2, 3})}});
  ASSERT_TRUE(fine.is_ok()) << fine.status().message();
  EXPECT_EQ((*fine)[0].tensor().shape(), (Shape{2, 3}));
}

// One node `op` named `name` over float inputs a and b of the given shapes.
std::string binary_model(const std::string& op, const std::string& name, std::vector<int64_t> a, std::vector<int64_t> b,
                         int64_t axis = -2) {
  pb::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("x");
  auto* node = graph->add_node();
  node->set_op_type(op);
  node->set_name(name);
  node->add_input("a");
  node->add_input("b");
  node->add_output("y");
  if (axis != -2) {
    auto* attr = node->add_attribute();
    attr->set_name("axis");
    attr->set_type(pb::AttributeProto::INT);
    attr->set_i(axis);
  }
  add_tensor_info(graph->add_input(), "a", a);
  add_tensor_info(graph->add_input(), "b", b);
  graph->add_output()->set_name("y");
  return model.SerializeAsString();
}

// Inconsistent shapes are provable before a run: the session is refused naming the node.
TEST(Session, InconsistentShapesFailAtCreation) {
  struct Case {
    std::string bytes, expected;
  };
  std::vector<Case> cases{
      {binary_model("MatMul", "mm", {1, 3}, {4, 5}), "model '<bytes>': node 'mm' (MatMul): inner dimensions differ: [1,3] x [4,5]"},
      {binary_model("Add", "add", {2, 3}, {4, 3}), "model '<bytes>': node 'add' (Add): shapes [2,3] and [4,3] cannot be broadcast"},
      {binary_model("Concat", "cat", {2, 3}, {2, 3, 1}, 0), "model '<bytes>': node 'cat' (Concat): inputs have different ranks"},
  };
  for (const auto& c : cases) {
    auto session = Session::load_from_bytes(c.bytes.data(), c.bytes.size());
    ASSERT_FALSE(session.is_ok()) << c.expected;
    EXPECT_EQ(session.status().message().rfind(c.expected, 0), 0u) << session.status().message();
  }
  // Symbolic dims that may agree at run time are not an error.
  std::string ok = binary_model("MatMul", "mm", {-1, 3}, {3, 5});
  EXPECT_TRUE(Session::load_from_bytes(ok.data(), ok.size()).is_ok());
}

}  // namespace
}  // namespace tessera
