// The model skeleton (model/model_skeleton.h): large raw_data payloads of the main graph's
// initializers are left out of what protobuf parses and read from the model's bytes instead;
// bytes of any other shape are parsed as they are.
#include "model/model_skeleton.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "model/model_loader.h"
#include "onnx.pb.h"
#include "tests/unit/temp_dir.h"

namespace tessera {
namespace {

constexpr uint64_t kThreshold = 1024;

std::string float_bytes(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) * scale;
  return v;
}

void add_raw_initializer(onnx::GraphProto* g, const std::string& name, const std::vector<float>& values) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(static_cast<int64_t>(values.size()));
  t->set_raw_data(float_bytes(values));
}

// Y = (X + Big) + Small: Big (2048 floats, 8 KiB) is over the threshold, Small (4 floats) is not.
onnx::ModelProto two_weights() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("skeleton_test");
  m.add_opset_import()->set_version(17);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("main");
  for (const char* name : {"X", "Y"}) {
    onnx::ValueInfoProto* vi = std::string(name) == "X" ? g->add_input() : g->add_output();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    vi->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2048);
  }
  add_raw_initializer(g, "Small", ramp(4, 0.5f));
  add_raw_initializer(g, "Big", ramp(2048, 0.25f));
  onnx::NodeProto* add = g->add_node();
  add->set_op_type("Add");
  for (const char* in : {"X", "Big"}) add->add_input(in);
  add->add_output("T");
  onnx::NodeProto* add2 = g->add_node();
  add2->set_op_type("Add");
  for (const char* in : {"T", "Small"}) add2->add_input(in);
  add2->add_output("Y");
  return m;
}

std::vector<float> values_of(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.size()); }

TEST(ModelSkeleton, LeavesOutTheLargeRawDataAndKeepsEverythingElse) {
  const onnx::ModelProto model = two_weights();
  const std::string bytes = model.SerializeAsString();
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  auto skeleton = model_skeleton(data, bytes.size(), kThreshold);
  ASSERT_TRUE(skeleton.has_value());
  ASSERT_EQ(skeleton->payloads.size(), 1u);
  ASSERT_EQ(skeleton->payloads.count(1), 1u) << "Big is the graph's second initializer";
  const WireBytes& big = skeleton->payloads.at(1);
  EXPECT_EQ(big.size, 2048 * sizeof(float));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(big.data), big.size), float_bytes(ramp(2048, 0.25f)));
  EXPECT_GE(big.data, data);
  EXPECT_LE(big.data + big.size, data + bytes.size()) << "the payload points into the original bytes";
  // The payload goes, and a byte from each of three lengths: raw_data's, Big's and the graph's.
  EXPECT_EQ(skeleton->bytes.size(), bytes.size() - big.size - 3);

  // The skeleton is the model with Big's raw_data empty: the same message field for field.
  onnx::ModelProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(skeleton->bytes));
  onnx::ModelProto expected = model;
  expected.mutable_graph()->mutable_initializer(1)->set_raw_data("");
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
}

TEST(ModelSkeleton, LoadingFromBytesAndFromAFileGivesTheWeights) {
  const std::string bytes = two_weights().SerializeAsString();
  TempDir dir("tessera_skeleton_test");
  const std::string path = dir.path() + "/model.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto from_bytes = load_model_bytes(bytes.data(), bytes.size(), "", "bytes");
  auto from_file = load_model_file(path);
  for (auto* loaded : {&from_bytes, &from_file}) {
    ASSERT_TRUE(loaded->is_ok()) << loaded->status().message();
    const Graph& g = (*loaded)->graph;
    EXPECT_EQ(values_of(g.initializers.at("Big")), ramp(2048, 0.25f));
    EXPECT_EQ(values_of(g.initializers.at("Small")), ramp(4, 0.5f));
    EXPECT_EQ(g.nodes.size(), 2u);
  }
  // A payload whose length disagrees with the dims is the same error either way.
  onnx::ModelProto short_big = two_weights();
  short_big.mutable_graph()->mutable_initializer(1)->set_raw_data(float_bytes(ramp(2047, 1.0f)));
  const std::string short_bytes = short_big.SerializeAsString();
  auto refused = load_model_bytes(short_bytes.data(), short_bytes.size(), "", "short");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("raw_data has 8188 bytes, expected 8192"), std::string::npos)
      << refused.status().message();
}

// A field as protobuf encodes it: tag, length, payload.
std::string length_delimited(int number, const std::string& payload) {
  std::string out;
  auto varint = [&out](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  varint(static_cast<uint64_t>(number) << 3 | 2);
  varint(payload.size());
  return out + payload;
}

TEST(ModelSkeleton, BytesOfAnyOtherShapeAreParsedAsTheyAre) {
  const std::string bytes = two_weights().SerializeAsString();
  auto none = [](const std::string& b) {
    return !model_skeleton(reinterpret_cast<const uint8_t*>(b.data()), b.size(), kThreshold).has_value();
  };
  // Nothing large enough to leave out.
  EXPECT_FALSE(model_skeleton(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 1 << 20).has_value());
  // Cut short, a stray group tag, a zero field number.
  EXPECT_TRUE(none(bytes.substr(0, bytes.size() - 100)));
  EXPECT_TRUE(none(bytes + std::string(1, static_cast<char>(7 << 3 | 3))));
  EXPECT_TRUE(none(std::string(1, '\x02') + bytes));

  // A second graph field, which protobuf merges into the first: loaded as protobuf reads it.
  onnx::GraphProto extra;
  extra.add_node()->set_op_type("Identity");
  extra.mutable_node(0)->add_input("Y");
  extra.mutable_node(0)->add_output("Z");
  const std::string two_graphs = bytes + length_delimited(7, extra.SerializeAsString());
  EXPECT_TRUE(none(two_graphs));
  auto merged = load_model_bytes(two_graphs.data(), two_graphs.size(), "", "two_graphs");
  ASSERT_TRUE(merged.is_ok()) << merged.status().message();
  EXPECT_EQ(merged->graph.nodes.size(), 3u);

  // An initializer with raw_data twice, of which protobuf keeps the last.
  onnx::ModelProto twice = two_weights();
  onnx::TensorProto* big = twice.mutable_graph()->mutable_initializer(1);
  const std::string big_with_second_raw = big->SerializeAsString() + length_delimited(9, float_bytes(ramp(2048, 2.0f)));
  ASSERT_TRUE(big->ParseFromString(big_with_second_raw));  // protobuf itself keeps the last
  twice.mutable_graph()->clear_initializer();
  std::string graph_bytes = twice.graph().SerializeAsString();
  graph_bytes += length_delimited(5, two_weights().graph().initializer(0).SerializeAsString());
  graph_bytes += length_delimited(5, big_with_second_raw);
  twice.clear_graph();
  const std::string twice_bytes = twice.SerializeAsString() + length_delimited(7, graph_bytes);
  EXPECT_TRUE(none(twice_bytes));
  auto last = load_model_bytes(twice_bytes.data(), twice_bytes.size(), "", "twice");
  ASSERT_TRUE(last.is_ok()) << last.status().message();
  EXPECT_EQ(values_of(last->graph.initializers.at("Big")), ramp(2048, 2.0f));
}

}  // namespace
}  // namespace tessera
