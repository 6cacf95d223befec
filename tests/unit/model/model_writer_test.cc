// Saving models: IR -> protobuf -> IR gives back the same model (hand-built models with every
// dtype, attribute kind and declared type; every model of the ONNX backend test data), external
// data past a size threshold, opset imports for domains a rewrite introduced, and clear errors.
#include "model/model_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/model_loader.h"
#include "onnx.pb.h"
#include "tests/unit/model/model_diff.h"
#include "tests/unit/test_tensors.h"
#include "tests/unit/temp_dir.h"
#include "tests/unit/backend_cases.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

TypeInfo tensor_type(DataType dtype, std::vector<Dim> dims) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::tensor;
  t.elem_type = dtype;
  t.shape = std::move(dims);
  return t;
}

TypeInfo wrap(TypeInfo::Kind kind, TypeInfo inner, DataType key = DataType::undefined) {
  TypeInfo t;
  t.kind = kind;
  t.elem_type = key;
  t.inner = std::make_shared<TypeInfo>(std::move(inner));
  return t;
}

ValueInfo value_info(const std::string& name, TypeInfo type) { return ValueInfo{name, std::move(type)}; }

Node make_node(const std::string& name, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
               const std::string& domain = "") {
  Node n;
  n.name = name;
  n.op_type = op;
  n.domain = domain;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

Attribute attr(const std::string& name, Attribute::Type type) {
  Attribute a;
  a.name = name;
  a.type = type;
  return a;
}

// A [2,3] tensor of `dtype` whose elements are valid for the type and differ from each other:
// sub-byte types hold their whole range (sign-extended for int4/int2), strings are words.
Tensor patterned(DataType dtype, uint8_t seed) {
  Tensor t = zeros(dtype, {2, 3});
  if (dtype == DataType::string) {
    for (int64_t i = 0; i < t.size(); ++i) t.data<std::string>()[i] = "word" + std::to_string(seed + i);
    return t;
  }
  auto* bytes = static_cast<uint8_t*>(t.raw_data());
  for (size_t i = 0; i < t.byte_size(); ++i) bytes[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  if (dtype == DataType::boolean)
    for (int64_t i = 0; i < t.size(); ++i) bytes[i] = (seed + i) % 2;
  if (is_subbyte_dtype(dtype)) {
    const int bits = subbyte_bits(dtype);
    for (int64_t i = 0; i < t.size(); ++i) {
      int v = static_cast<int>((seed + i * 3) % (1 << bits));
      if (is_signed_dtype(dtype) && v >= (1 << (bits - 1))) v -= 1 << bits;
      t.data<int8_t>()[i] = static_cast<int8_t>(v);
    }
  }
  return t;
}

std::shared_ptr<Graph> branch(const std::string& name, const std::string& constant_name, float value) {
  auto g = std::make_shared<Graph>();
  g->name = name;
  g->initializers[constant_name] = tensor_of<float>(DataType::float32, {1}, {value});
  g->nodes.push_back(make_node(name + "_id", "Identity", {constant_name}, {name + "_out"}));
  g->outputs.push_back(value_info(name + "_out", tensor_type(DataType::float32, {Dim{1, ""}})));
  return g;
}

// A model touching every part of the IR the writer handles.
Model rich_model() {
  Model m;
  m.ir_version = 9;
  m.producer_name = "writer-test";
  m.opset_imports = {{"", 18}, {"ai.onnx.ml", 3}, {"com.example", 2}};
  Graph& g = m.graph;
  g.name = "main";
  g.inputs = {value_info("X", tensor_type(DataType::float32, {Dim{-1, "N"}, Dim{3, ""}, Dim{}})),
              value_info("S", wrap(TypeInfo::Kind::sequence, tensor_type(DataType::int64, {Dim{-1, "len"}}))),
              value_info("M", wrap(TypeInfo::Kind::map, tensor_type(DataType::float32, {}), DataType::int64)),
              value_info("O", wrap(TypeInfo::Kind::optional, tensor_type(DataType::string, {}))),
              value_info("W", tensor_type(DataType::float32, {Dim{2, ""}, Dim{3, ""}})),
              value_info("U", TypeInfo{})};
  TypeInfo unranked;
  unranked.kind = TypeInfo::Kind::tensor;
  unranked.elem_type = DataType::float16;
  TypeInfo sparse = tensor_type(DataType::float32, {Dim{4, ""}});
  sparse.kind = TypeInfo::Kind::sparse_tensor;
  g.outputs = {value_info("Y", tensor_type(DataType::float32, {Dim{-1, "N"}, Dim{3, ""}})), value_info("Z", unranked)};
  g.value_infos = {value_info("A", tensor_type(DataType::float32, {})), value_info("untyped", TypeInfo{}), value_info("sp", sparse)};

  for (int32_t code = 1; code <= kMaxDataTypeValue; ++code) {
    const auto dtype = static_cast<DataType>(code);
    g.initializers["init_" + std::string(dtype_name(dtype))] = patterned(dtype, static_cast<uint8_t>(code));
  }
  g.initializers["W"] = tensor_of<float>(DataType::float32, {2, 3}, {1, 2, 3, 4, 5, 6});
  g.initializers["empty"] = zeros(DataType::float32, {0, 3});
  g.initializers["scalar"] = tensor_of<int64_t>(DataType::int64, {}, {-42});

  g.nodes.push_back(make_node("add", "Add", {"X", "W"}, {"A"}));
  Node every = make_node("every", "EveryAttribute", {"A", "", "S"}, {"E1", ""}, "com.example");
  auto add = [&](Attribute a) { every.attributes[a.name] = std::move(a); };
  Attribute a = attr("f", Attribute::Type::float_);
  a.f = -1.5f;
  add(a);
  a = attr("i", Attribute::Type::int_);
  a.i = -7;
  add(a);
  a = attr("s", Attribute::Type::string_);
  a.s = std::string("bytes\0with nul", 14);
  add(a);
  a = attr("t", Attribute::Type::tensor_);
  a.t = patterned(DataType::int4, 3);
  add(a);
  a = attr("g", Attribute::Type::graph_);
  a.g = branch("body", "k", 2.5f);
  add(a);
  a = attr("tp", Attribute::Type::type_proto);
  a.tp = wrap(TypeInfo::Kind::sequence, tensor_type(DataType::bfloat16, {Dim{-1, "B"}}));
  add(a);
  a = attr("floats", Attribute::Type::floats_);
  a.floats = {0.5f, -0.0f, 3e38f};
  add(a);
  a = attr("ints", Attribute::Type::ints_);
  a.ints = {1, -2, INT64_MAX};
  add(a);
  a = attr("strings", Attribute::Type::strings_);
  a.strings = {"a", "", "ccc"};
  add(a);
  a = attr("tensors", Attribute::Type::tensors_);
  a.tensors = {patterned(DataType::string, 1), patterned(DataType::float8e5m2, 2)};
  add(a);
  a = attr("graphs", Attribute::Type::graphs_);
  a.graphs = {branch("first", "c1", 1.f), branch("second", "c2", 2.f)};
  add(a);
  a = attr("empty_ints", Attribute::Type::ints_);
  add(a);
  g.nodes.push_back(std::move(every));

  Node cond = make_node("if", "If", {"flag"}, {"Y"});
  a = attr("then_branch", Attribute::Type::graph_);
  a.g = branch("then", "t", 1.f);
  cond.attributes["then_branch"] = a;
  a = attr("else_branch", Attribute::Type::graph_);
  a.g = branch("else", "e", 0.f);
  cond.attributes["else_branch"] = a;
  g.nodes.push_back(std::move(cond));

  Node constant = make_node("sparse_constant", "Constant", {}, {"Z"});
  a = attr("sparse_value", Attribute::Type::tensor_);
  a.t = tensor_of<float>(DataType::float32, {2, 3}, {0, 1.5f, 0, 0, 0, -2});
  constant.attributes["sparse_value"] = a;
  g.nodes.push_back(std::move(constant));
  g.nodes.push_back(make_node("call", "Scale", {"A"}, {"scaled"}, "com.example"));

  Function f;
  f.name = "Scale";
  f.domain = "com.example";
  f.inputs = {"x"};
  f.outputs = {"y"};
  f.attribute_names = {"alpha"};
  a = attr("beta", Attribute::Type::float_);
  a.f = 2.f;
  f.attribute_defaults["beta"] = a;
  f.opset_imports = {{"", 18}};
  Node mul = make_node("mul", "Mul", {"x", "alpha_c"}, {"y"});
  Node c = make_node("alpha_const", "Constant", {}, {"alpha_c"});
  a = attr("value_float", Attribute::Type::float_);
  a.ref_attr_name = "alpha";
  c.attributes["value_float"] = a;
  a = attr("unset_tensor", Attribute::Type::tensor_);
  a.ref_attr_name = "beta";
  c.attributes["unset_tensor"] = a;
  f.nodes = {c, mul};
  m.functions.push_back(std::move(f));
  return m;
}

Result<Model> reload(const Model& model) {
  auto bytes = serialize_model(model);
  if (!bytes.is_ok()) return bytes.status();
  return load_model_bytes(bytes->data(), bytes->size(), "");
}

TEST(ModelWriter, RichModelRoundTrips) {
  const Model original = rich_model();
  auto back = reload(original);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(test::diff_models(original, *back), "");

  // The comparison looks at values: spot checks, and one changed byte is found.
  const Tensor& int4 = back->graph.initializers.at("init_int4");
  EXPECT_EQ(int4.data<int8_t>()[0], 6);   // 22 % 16
  EXPECT_EQ(int4.data<int8_t>()[1], -7);  // (22 + 3) % 16 = 9, sign-extended from 4 bits
  EXPECT_EQ(back->graph.initializers.at("init_string").data<std::string>()[5], "word13");
  EXPECT_EQ(back->graph.nodes[1].attributes.at("s").s, std::string("bytes\0with nul", 14));
  EXPECT_EQ(back->graph.inputs[0].type.to_string(), "tensor(float)[N,3,?]");
  Model changed = *back;
  auto w = changed.graph.initializers.at("W").clone();
  ASSERT_TRUE(w.is_ok());
  w->data<float>()[4] = 5.5f;
  changed.graph.initializers["W"] = *w;
  EXPECT_EQ(test::diff_models(original, changed), "graph 'main': initializer 'W': bytes differ");
}

TEST(ModelWriter, ConstantSparseValueIsWrittenSparse) {
  auto bytes = serialize_model(rich_model());
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(*bytes));
  const onnx::NodeProto* constant = nullptr;
  for (const auto& n : proto.graph().node())
    if (n.name() == "sparse_constant") constant = &n;
  ASSERT_NE(constant, nullptr);
  ASSERT_EQ(constant->attribute_size(), 1);
  const auto& sparse = constant->attribute(0);
  EXPECT_EQ(sparse.type(), onnx::AttributeProto::SPARSE_TENSOR);
  EXPECT_EQ(std::vector<int64_t>(sparse.sparse_tensor().dims().begin(), sparse.sparse_tensor().dims().end()),
            (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(sparse.sparse_tensor().values().dims(0), 2);  // the two non-zero elements
  EXPECT_EQ(sparse.sparse_tensor().indices().raw_data().size(), 2 * sizeof(int64_t));
}

TEST(ModelWriter, DomainsUsedButNotImportedGetAnImport) {
  Model m = rich_model();
  m.opset_imports.erase("com.example");
  m.graph.nodes.push_back(make_node("fused", "FusedConv", {"X"}, {"F"}, "com.tessera"));
  m.functions[0].opset_imports["com.example"] = 4;  // a function's import is used when there is one
  auto back = reload(m);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->opset_imports, (std::map<std::string, int64_t>{{"", 18}, {"ai.onnx.ml", 3}, {"com.example", 4}, {"com.tessera", 1}}));
}

TEST(ModelWriter, LargeTensorsGoToExternalData) {
  TempDir dir("tessera_writer_test");
  ASSERT_FALSE(dir.path().empty());
  const Model original = rich_model();
  const std::string path = dir.path() + "/model.onnx";
  SaveOptions options;
  options.external_data_threshold = 16;  // the [2,3] int32 and wider initializers, not float16 or int8
  ASSERT_TRUE(save_model(original, path, options).is_ok());

  onnx::ModelProto proto;
  {
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(proto.ParseFromIstream(&in));
  }
  int external = 0;
  uint64_t end = 0;
  for (const auto& t : proto.graph().initializer()) {
    const bool is_external = t.data_location() == onnx::TensorProto::EXTERNAL;
    const auto dtype = static_cast<DataType>(t.data_type());
    const uint64_t bytes = dtype == DataType::string ? 0 : t.dims_size() == 2 ? 6 * dtype_size(dtype) : 0;
    if (t.name() == "init_float32" || t.name() == "init_complex128" || t.name() == "W") {
      EXPECT_TRUE(is_external) << t.name();
    }
    if (t.name() == "init_float16" || t.name() == "init_int4" || t.name() == "init_string" || t.name() == "scalar") {
      EXPECT_FALSE(is_external) << t.name();
    }
    if (!is_external) continue;
    ++external;
    EXPECT_FALSE(t.has_raw_data());
    std::map<std::string, std::string> entries;
    for (const auto& e : t.external_data()) entries[e.key()] = e.value();
    EXPECT_EQ(entries["location"], "model.onnx.data");
    EXPECT_EQ(std::stoull(entries["offset"]) % 64, 0u) << t.name();
    EXPECT_EQ(std::stoull(entries["length"]), bytes) << t.name();
    end = std::max<uint64_t>(end, std::stoull(entries["offset"]) + std::stoull(entries["length"]));
  }
  EXPECT_EQ(external, 9);  // [2,3] of float, double, complex64/128, int32/64, uint32/64; and W
  EXPECT_EQ(fs::file_size(path + ".data"), end);

  auto back = load_model_file(path);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(test::diff_models(original, *back), "");
  EXPECT_EQ(back->graph.initializers.at("W").data<float>()[5], 6.f);
}

TEST(ModelWriter, SubByteTensorsArePackedInExternalData) {
  TempDir dir("tessera_writer_test");
  Model m;
  m.ir_version = 10;
  m.opset_imports = {{"", 21}};
  m.graph.name = "g";
  Tensor q = zeros(DataType::int4, {5});
  const std::vector<int8_t> values = {-8, 7, -1, 0, 3};
  std::copy(values.begin(), values.end(), q.data<int8_t>());
  m.graph.initializers["q"] = q;
  m.graph.outputs.push_back(value_info("q", tensor_type(DataType::int4, {Dim{5, ""}})));
  SaveOptions options;
  options.external_data_threshold = 1;
  const std::string path = dir.path() + "/q.onnx";
  ASSERT_TRUE(save_model(m, path, options).is_ok());
  std::ifstream in(path + ".data", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Low nibble first: (-8, 7) -> 0x78, (-1, 0) -> 0x0F, (3) -> 0x03.
  EXPECT_EQ(data, std::string("\x78\x0F\x03", 3));
  auto back = load_model_file(path);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(test::diff_tensors(back->graph.initializers.at("q"), q), "");
}

TEST(ModelWriter, ErrorsNameTheModelAndWhatFailed) {
  Model m = rich_model();
  m.source = "rich.onnx";
  auto saved = save_model(m, "/no/such/folder/out.onnx");
  ASSERT_FALSE(saved.is_ok());
  EXPECT_EQ(saved.code(), StatusCode::io_error);
  EXPECT_NE(saved.message().find("model 'rich.onnx': saving to '/no/such/folder/out.onnx': cannot create "
                                 "'/no/such/folder/out.onnx.tmp': No such file or directory"),
            std::string::npos)
      << saved.message();

  m.graph.nodes[0].attributes["broken"] = attr("broken", Attribute::Type::undefined);
  auto bytes = serialize_model(m);
  ASSERT_FALSE(bytes.is_ok());
  EXPECT_EQ(bytes.status().message(),
            "model 'rich.onnx': graph 'main': node 'add' (Add): attribute 'broken': has no type and no value");
}

// Every model of the ONNX backend test data: load -> serialize -> load gives the same IR.
TEST(ModelWriter, EveryConformanceModelRoundTrips) {
  const fs::path root = backend_tests_dir();
  std::error_code ec;
  if (!fs::is_directory(root, ec)) GTEST_SKIP() << "no backend test data at " << root;
  std::vector<fs::path> models;
  for (const fs::path& c : backend_test_cases(root)) models.push_back(c / "model.onnx");
  int round_tripped = 0;
  for (const auto& path : models) {
    auto original = load_model_file(path.string());
    if (!original.is_ok()) continue;  // conformance_load_test reports models that do not load
    auto bytes = serialize_model(*original);
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
    auto back = load_model_bytes(bytes->data(), bytes->size(), path.parent_path().string(), path.string());
    ASSERT_TRUE(back.is_ok()) << path << ": " << back.status().message();
    std::string diff = test::diff_models(*original, *back);
    EXPECT_EQ(diff, "") << path;
    round_tripped += diff.empty();
  }
  std::cout << round_tripped << " of " << models.size() << " models round-tripped\n";
  EXPECT_GT(round_tripped, 1900);
}

}  // namespace
}  // namespace tessera
