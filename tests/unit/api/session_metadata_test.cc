// Session::metadata(): the model's descriptive fields as the file declares them, from a path and
// from bytes (what the Python package's get_modelmeta() returns).
#include <gtest/gtest.h>

#include <fstream>

#include "onnx.pb.h"
#include "tessera/model_metadata.h"
#include "tessera/session.h"
#include "tests/unit/temp_dir.h"

namespace tessera {
namespace {

namespace pb = tessera::onnx;

// y = Relu(x), with every descriptive field set.
std::string described_model() {
  pb::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("metadata-test");
  m.set_producer_version("1.2.3");
  m.set_domain("org.example");
  m.set_model_version(7);
  m.set_doc_string("relu of x");
  auto* prop = m.add_metadata_props();
  prop->set_key("author");
  prop->set_value("tessera");
  prop = m.add_metadata_props();
  prop->set_key("license");
  prop->set_value("MIT");
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("relu_graph");
  g->set_doc_string("one node");
  auto declare = [](pb::ValueInfoProto* info, const char* name) {
    info->set_name(name);
    auto* t = info->mutable_type()->mutable_tensor_type();
    t->set_elem_type(1);
    t->mutable_shape()->add_dim()->set_dim_value(2);
  };
  declare(g->add_input(), "x");
  declare(g->add_output(), "y");
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->add_input("x");
  n->add_output("y");
  return m.SerializeAsString();
}

void expect_described(const ModelMetadata& meta) {
  EXPECT_EQ(meta.producer_name, "metadata-test");
  EXPECT_EQ(meta.producer_version, "1.2.3");
  EXPECT_EQ(meta.graph_name, "relu_graph");
  EXPECT_EQ(meta.domain, "org.example");
  EXPECT_EQ(meta.description, "relu of x");
  EXPECT_EQ(meta.graph_description, "one node");
  EXPECT_EQ(meta.version, 7);
  EXPECT_EQ(meta.custom_metadata_map, (std::map<std::string, std::string>{{"author", "tessera"}, {"license", "MIT"}}));
}

TEST(SessionMetadata, FromBytes) {
  const std::string bytes = described_model();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  expect_described(session->metadata());
}

TEST(SessionMetadata, FromFileAtEveryLevel) {
  TempDir dir("session_metadata");
  const std::string path = dir.path() + "/model.onnx";
  std::ofstream(path, std::ios::binary) << described_model();
  for (OptimizationLevel level : {OptimizationLevel::disabled, OptimizationLevel::all}) {
    SessionOptions options;
    options.optimization_level = level;
    auto session = Session::load(path, options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    expect_described(session->metadata());
  }
}

TEST(SessionMetadata, EmptyWhenTheModelSaysNothing) {
  pb::ModelProto m;
  m.ParseFromString(described_model());
  m.clear_producer_name();
  m.clear_producer_version();
  m.clear_domain();
  m.clear_model_version();
  m.clear_doc_string();
  m.clear_metadata_props();
  const std::string bytes = m.SerializeAsString();
  auto session = Session::load_from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  EXPECT_EQ(session->metadata().producer_name, "");
  EXPECT_EQ(session->metadata().version, 0);
  EXPECT_TRUE(session->metadata().custom_metadata_map.empty());
  EXPECT_EQ(session->metadata().graph_name, "relu_graph");
}

}  // namespace
}  // namespace tessera
