// Model loading: protobuf -> IR, validation errors, and external data (path checks, bounds, mmap).
#include "model/model_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "onnx.pb.h"
#include "tests/unit/temp_dir.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void set_tensor_type(onnx::ValueInfoProto* vi, const std::string& name, int elem_type, std::vector<int64_t> dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0)
      shape->add_dim()->set_dim_param("N");
    else
      shape->add_dim()->set_dim_value(d);
  }
}

// Y = Add(X, W) with W a float[4] initializer.
onnx::ModelProto make_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("main");
  set_tensor_type(g->add_input(), "X", onnx::TensorProto::FLOAT, {-1, 4});
  set_tensor_type(g->add_output(), "Y", onnx::TensorProto::FLOAT, {-1, 4});
  auto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  for (float v : {1.f, 2.f, 3.f, 4.f}) w->add_float_data(v);
  auto* n = g->add_node();
  n->set_op_type("Add");
  n->add_input("X");
  n->add_input("W");
  n->add_output("Y");
  return m;
}

Result<Model> load(const onnx::ModelProto& m) {
  std::string bytes = m.SerializeAsString();
  return load_model_bytes(bytes.data(), bytes.size(), "", "test.onnx");
}

TEST(ModelLoader, LoadsGraph) {
  onnx::ModelProto m = make_model();
  m.mutable_opset_import(0)->set_domain("ai.onnx");
  auto* op = m.add_opset_import();
  op->set_domain("com.example");
  op->set_version(1);
  auto model = load(m);
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  EXPECT_EQ(model->ir_version, 8);
  EXPECT_EQ(model->opset_version(""), 17);
  EXPECT_EQ(model->opset_version("com.example"), 1);
  EXPECT_EQ(model->source, "test.onnx");
  const Graph& g = model->graph;
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].name, "Add_0");  // unnamed nodes get a name for messages
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].type.to_string(), "tensor(float)[N,4]");
  ASSERT_TRUE(g.is_initializer("W"));
  EXPECT_EQ(g.initializers.at("W").data<float>()[3], 4.0f);
}

TEST(ModelLoader, SubgraphsAttributesAndFunctions) {
  onnx::ModelProto m = make_model();
  auto* g = m.mutable_graph();
  auto* node = g->add_node();
  node->set_name("if_node");
  node->set_op_type("If");
  node->add_input("cond");
  node->add_output("Z");
  set_tensor_type(g->add_input(), "cond", onnx::TensorProto::BOOL, {});
  auto* then_attr = node->add_attribute();
  then_attr->set_name("then_branch");
  then_attr->set_type(onnx::AttributeProto::GRAPH);
  auto* then_graph = then_attr->mutable_g();
  then_graph->set_name("then");
  auto* inner = then_graph->add_node();
  inner->set_op_type("Identity");
  inner->add_input("Y");
  inner->add_output("Z_then");
  set_tensor_type(then_graph->add_output(), "Z_then", onnx::TensorProto::FLOAT, {});
  auto* ints = node->add_attribute();
  ints->set_name("perm");
  ints->set_type(onnx::AttributeProto::INTS);
  ints->add_ints(1);
  ints->add_ints(0);
  auto* tp = node->add_attribute();
  tp->set_name("dtype_hint");
  tp->set_type(onnx::AttributeProto::TYPE_PROTO);
  tp->mutable_tp()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  auto* untyped = node->add_attribute();  // old writers leave `type` out
  untyped->set_name("alpha");
  untyped->set_f(0.5f);

  auto* f = m.add_functions();
  f->set_name("MyRelu");
  f->set_domain("custom");
  f->add_input("x");
  f->add_output("y");
  f->add_attribute("unused");
  auto* fnode = f->add_node();
  fnode->set_op_type("Relu");
  fnode->add_input("x");
  fnode->add_output("y");
  auto* ref = fnode->add_attribute();
  ref->set_name("alpha");
  ref->set_type(onnx::AttributeProto::FLOAT);
  ref->set_ref_attr_name("alpha");
  auto* fop = f->add_opset_import();
  fop->set_domain("ai.onnx");
  fop->set_version(17);

  auto model = load(m);
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  const Node& n = model->graph.nodes[1];
  ASSERT_NE(n.attribute("then_branch"), nullptr);
  ASSERT_TRUE(n.attribute("then_branch")->g);
  EXPECT_EQ(n.attribute("then_branch")->g->nodes[0].op_type, "Identity");
  EXPECT_EQ(n.attribute("perm")->ints, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(n.attribute("dtype_hint")->type, Attribute::Type::type_proto);
  EXPECT_EQ(n.attribute("dtype_hint")->tp.to_string(), "seq(tensor(int64))");
  EXPECT_EQ(n.attribute("alpha")->type, Attribute::Type::float_);
  EXPECT_EQ(n.attribute("alpha")->f, 0.5f);
  ASSERT_EQ(model->functions.size(), 1u);
  const Function& fn = model->functions[0];
  EXPECT_EQ(fn.name, "MyRelu");
  EXPECT_EQ(fn.opset_imports.at(""), 17);
  EXPECT_EQ(fn.nodes[0].attribute("alpha")->ref_attr_name, "alpha");
}

TEST(ModelLoader, SparseInitializerBecomesDense) {
  onnx::ModelProto m = make_model();
  auto* g = m.mutable_graph();
  g->clear_initializer();
  auto* s = g->add_sparse_initializer();
  s->add_dims(4);
  s->mutable_values()->set_name("W");
  s->mutable_values()->set_data_type(onnx::TensorProto::FLOAT);
  s->mutable_values()->add_dims(1);
  s->mutable_values()->add_float_data(9);
  s->mutable_indices()->set_data_type(onnx::TensorProto::INT64);
  s->mutable_indices()->add_dims(1);
  s->mutable_indices()->add_int64_data(2);
  auto model = load(m);
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  const Tensor& w = model->graph.initializers.at("W");
  EXPECT_EQ(w.data<float>()[2], 9);
  EXPECT_EQ(w.data<float>()[0], 0);
}

void expect_error(const onnx::ModelProto& m, const std::string& fragment) {
  auto model = load(m);
  ASSERT_FALSE(model.is_ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(model.status().message().find(fragment), std::string::npos) << model.status().message();
  EXPECT_NE(model.status().message().find("model 'test.onnx'"), std::string::npos) << model.status().message();
}

TEST(ModelLoader, ValidationErrors) {
  {
    auto m = make_model();
    m.set_ir_version(2);
    expect_error(m, "IR version 2");
  }
  {
    auto m = make_model();
    m.set_ir_version(14);
    expect_error(m, "IR version 14");
  }
  {
    auto m = make_model();
    m.mutable_opset_import(0)->set_domain("com.other");
    expect_error(m, "node 'Add_0' (Add): is in the default ONNX domain, which the model does not import");
    m.mutable_graph()->mutable_node(0)->set_domain("com.other");
    EXPECT_TRUE(load(m).is_ok());  // only the domains nodes use need an import
  }
  {
    auto m = make_model();
    m.clear_opset_import();
    expect_error(m, "has no opset_import");
  }
  {
    auto m = make_model();
    m.mutable_graph()->mutable_node(0)->set_op_type("");
    expect_error(m, "has no op_type");
  }
  {
    auto m = make_model();
    auto* n = m.mutable_graph()->add_node();
    n->set_name("second");
    n->set_op_type("Relu");
    n->add_input("X");
    n->add_output("Y");
    expect_error(m, "node 'second' (Relu): output 'Y' is already produced");
  }
  {
    auto m = make_model();
    *m.mutable_graph()->add_initializer() = m.graph().initializer(0);
    expect_error(m, "initializer 'W' is defined twice");
  }
  {
    auto m = make_model();
    m.mutable_graph()->mutable_initializer(0)->add_float_data(5);
    expect_error(m, "float_data has 5 values, expected 4");
  }
  {
    auto m = make_model();
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("bad");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    a->mutable_t()->add_dims(2);
    expect_error(m, "node 'Add_0' (Add): attribute 'bad'");
  }
}

TEST(ModelLoader, CorruptFilesGiveErrors) {
  TempDir dir("tessera_model_test");
  ASSERT_FALSE(dir.path().empty());
  std::string bytes = make_model().SerializeAsString();
  int failures = 0;
  // Every truncation either fails cleanly or (if it cut at a field boundary) loads.
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    std::string path = dir.path() + "/truncated.onnx";
    write_bytes(path, bytes.substr(0, cut));
    auto model = load_model_file(path);
    if (!model.is_ok()) {
      ++failures;
      EXPECT_NE(model.status().message().find(path), std::string::npos);
    }
  }
  EXPECT_GT(failures, 0);
  std::string path = dir.path() + "/truncated.onnx";
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  auto half = load_model_file(path);
  ASSERT_FALSE(half.is_ok());

  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string noise(1 + rng() % 512, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    auto model = load_model_bytes(noise.data(), noise.size(), "", "noise");
    EXPECT_FALSE(model.is_ok());
  }
  std::string noise = "\xff\xff\xff\xff garbage";
  auto model = load_model_bytes(noise.data(), noise.size(), "", "noise");
  ASSERT_FALSE(model.is_ok());
  EXPECT_EQ(model.status().message().rfind("model 'noise': not a valid ONNX model (protobuf parse failed", 0), 0u) << model.status().message();

  write_bytes(dir.path() + "/empty.onnx", "");
  EXPECT_FALSE(load_model_file(dir.path() + "/empty.onnx").is_ok());

  // Over 2 GB (a sparse file, nothing is written): refused before parsing.
  std::string huge = dir.path() + "/huge.onnx";
  write_bytes(huge, "");
  fs::resize_file(huge, uint64_t{1} << 31);
  auto too_big = load_model_file(huge);
  ASSERT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.status().message().find("2 GB"), std::string::npos) << too_big.status().message();

  auto missing = load_model_file(dir.path() + "/nope.onnx");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::io_error);
}

// A model whose initializer W (float[4]) lives in external data.
onnx::ModelProto external_model(const std::string& location, int64_t offset, int64_t length) {
  onnx::ModelProto m = make_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const std::string& k, const std::string& v) {
    auto* e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  if (offset >= 0) add("offset", std::to_string(offset));
  if (length >= 0) add("length", std::to_string(length));
  return m;
}

Result<Model> load_in(const TempDir& dir, const onnx::ModelProto& m) {
  std::string path = dir.path() + "/model.onnx";
  write_bytes(path, m.SerializeAsString());
  return load_model_file(path);
}

std::string float_bytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

TEST(ModelLoader, ExternalDataLoads) {
  TempDir dir("tessera_model_test");
  // Two tensors in one file: one at a 64-byte aligned offset (mapped in place), one misaligned
  // (copied).
  std::string data(64, 'x');
  data += float_bytes({1, 2, 3, 4});
  data += "zz";
  data += float_bytes({5, 6, 7, 8});
  fs::create_directories(dir.path() + "/weights");
  write_bytes(dir.path() + "/weights/w.bin", data);

  auto m = external_model("weights/w.bin", 64, 16);
  auto* b = m.mutable_graph()->add_initializer();
  *b = m.graph().initializer(0);
  b->set_name("B");
  b->mutable_external_data(1)->set_value("82");
  b->mutable_external_data(2)->set_value("16");
  auto model = load_in(dir, m);
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  const Tensor& w = model->graph.initializers.at("W");
  const Tensor& bt = model->graph.initializers.at("B");
  EXPECT_EQ(w.data<float>()[0], 1);
  EXPECT_EQ(w.data<float>()[3], 4);
  EXPECT_EQ(bt.data<float>()[0], 5);
  EXPECT_EQ(bt.data<float>()[3], 8);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.raw_data()) % 64, 0u);

  // The mapping outlives the model and the file name.
  Tensor keep = w;
  model = Status(StatusCode::invalid_model, "dropped");
  fs::remove(dir.path() + "/weights/w.bin");
  EXPECT_EQ(keep.data<float>()[2], 3);

  // Length absent: the tensor's own size is read.
  write_bytes(dir.path() + "/w2.bin", float_bytes({9, 9, 9, 9}));
  auto no_len = load_in(dir, external_model("w2.bin", -1, -1));
  ASSERT_TRUE(no_len.is_ok()) << no_len.status().message();
  EXPECT_EQ(no_len->graph.initializers.at("W").data<float>()[1], 9);

  // Loaded from bytes there is no folder, so external data is refused.
  std::string bytes = external_model("w2.bin", 0, 16).SerializeAsString();
  EXPECT_FALSE(load_model_bytes(bytes.data(), bytes.size(), "").is_ok());
}

TEST(ModelLoader, ExternalDataIsChecked) {
  TempDir parent("tessera_model_test");
  std::string inner = parent.path() + "/model_dir";
  fs::create_directories(inner);
  write_bytes(parent.path() + "/x", float_bytes({1, 2, 3, 4}));
  write_bytes(inner + "/w.bin", float_bytes({1, 2, 3, 4}));
  auto load_inner = [&](const onnx::ModelProto& m) {
    std::string path = inner + "/model.onnx";
    write_bytes(path, m.SerializeAsString());
    return load_model_file(path);
  };
  auto expect = [&](const onnx::ModelProto& m, const std::string& fragment) {
    auto model = load_inner(m);
    ASSERT_FALSE(model.is_ok()) << "expected an error containing: " << fragment;
    EXPECT_NE(model.status().message().find(fragment), std::string::npos) << model.status().message();
    EXPECT_NE(model.status().message().find("'W'"), std::string::npos) << model.status().message();
  };
  ASSERT_TRUE(load_inner(external_model("w.bin", 0, 16)).is_ok());
  expect(external_model("../x", 0, 16), "'..'");
  expect(external_model("sub/../../x", 0, 16), "'..'");
  expect(external_model(parent.path() + "/x", 0, 16), "absolute");
  expect(external_model("missing.bin", 0, 16), "missing.bin");
  expect(external_model("w.bin", 17, -1), "offset 17 is past the end");
  expect(external_model("w.bin", 4, 16), "past the end");
  expect(external_model("w.bin", 0, 12), "length 12");
  auto negative = external_model("w.bin", -1, 16);
  auto* bad_offset = negative.mutable_graph()->mutable_initializer(0)->add_external_data();
  bad_offset->set_key("offset");
  bad_offset->set_value("-5");
  expect(negative, "not a non-negative integer");
  expect(external_model("", 0, 16), "no location");
  // A symlink inside the folder that points outside it.
  fs::create_symlink(parent.path() + "/x", inner + "/link.bin");
  expect(external_model("link.bin", 0, 16), "outside the model's folder");
  fs::create_directory_symlink(parent.path(), inner + "/up");
  expect(external_model("up/x", 0, 16), "outside the model's folder");
  // A symlink that stays inside is fine.
  fs::create_symlink(inner + "/w.bin", inner + "/alias.bin");
  EXPECT_TRUE(load_inner(external_model("alias.bin", 0, 16)).is_ok());
}

}  // namespace
}  // namespace tessera
