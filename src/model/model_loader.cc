#include "model/model_loader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include "model/tensor_proto.h"
#include "onnx.pb.h"

namespace tessera {

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 13;

// The default domain has two spellings in ONNX files; only here are they folded, so everything
// past the loader (schemas, kernel registry, opset lookup) sees "" alone.
std::string normalize_domain(const std::string& domain) { return domain == "ai.onnx" ? "" : domain; }

Status convert_type(const onnx::TypeProto& proto, TypeInfo* out);

Status convert_shape(const onnx::TensorShapeProto& shape, TypeInfo* out) {
  std::vector<Dim> dims(shape.dim_size());
  for (int i = 0; i < shape.dim_size(); ++i) {
    const auto& d = shape.dim(i);
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) return invalid_model("dimension ", i, " has negative size ", d.dim_value());
      dims[i].value = d.dim_value();
    } else if (d.has_dim_param()) {
      dims[i].param = d.dim_param();
    }
  }
  out->shape = std::move(dims);
  return Status::ok();
}

Status convert_elem_type(int32_t elem_type, DataType* out) {
  if (elem_type != 0 && !is_known_dtype(elem_type)) return invalid_model("unknown element type ", elem_type);
  *out = static_cast<DataType>(elem_type);
  return Status::ok();
}

Status convert_inner(const onnx::TypeProto& proto, TypeInfo* out) {
  out->inner = std::make_shared<TypeInfo>();
  return convert_type(proto, out->inner.get());
}

Status convert_type(const onnx::TypeProto& proto, TypeInfo* out) {
  switch (proto.value_case()) {
    case onnx::TypeProto::kTensorType:
      out->kind = TypeInfo::Kind::tensor;
      TS_RETURN_IF_ERROR(convert_elem_type(proto.tensor_type().elem_type(), &out->elem_type));
      if (proto.tensor_type().has_shape()) return convert_shape(proto.tensor_type().shape(), out);
      return Status::ok();
    case onnx::TypeProto::kSparseTensorType:
      out->kind = TypeInfo::Kind::sparse_tensor;
      TS_RETURN_IF_ERROR(convert_elem_type(proto.sparse_tensor_type().elem_type(), &out->elem_type));
      if (proto.sparse_tensor_type().has_shape()) return convert_shape(proto.sparse_tensor_type().shape(), out);
      return Status::ok();
    case onnx::TypeProto::kSequenceType:
      out->kind = TypeInfo::Kind::sequence;
      return convert_inner(proto.sequence_type().elem_type(), out);
    case onnx::TypeProto::kOptionalType:
      out->kind = TypeInfo::Kind::optional;
      return convert_inner(proto.optional_type().elem_type(), out);
    case onnx::TypeProto::kMapType:
      out->kind = TypeInfo::Kind::map;
      TS_RETURN_IF_ERROR(convert_elem_type(proto.map_type().key_type(), &out->elem_type));
      return convert_inner(proto.map_type().value_type(), out);
    case onnx::TypeProto::kOpaqueType:
    case onnx::TypeProto::VALUE_NOT_SET:
      out->kind = TypeInfo::Kind::unknown;
      return Status::ok();
  }
  return Status::ok();
}

// The main graph's raw_data that a skeleton left out (model_skeleton.h), read from the model's
// bytes rather than from the parsed message.
struct LeftOutPayloads {
  const std::unordered_map<int, WireBytes>* by_initializer = nullptr;  // null: none left out
  bool in_own_mapping = false;  // the loader's mapping of the file, whose pages go back once copied
};

// Converts the graph-level pieces of a model; holds what every part of one load shares.
class Loader {
 public:
  Loader(const std::string& base_dir, bool imports_onnx, const ResourceLimits& limits, LeftOutPayloads payloads)
      : external_(base_dir), imports_onnx_(imports_onnx), limits_(limits), payloads_(payloads) {}

  Status convert_graph(onnx::GraphProto& proto, Graph* out);
  Status convert_function(onnx::FunctionProto& proto, Function* out);

 private:
  Result<Tensor> take_tensor(onnx::TensorProto* proto, const WireBytes* left_out = nullptr);
  Status convert_value_info(const onnx::ValueInfoProto& proto, const char* role, ValueInfo* out);
  Status convert_attribute(onnx::AttributeProto& proto, Attribute* out);
  Status convert_nodes(google::protobuf::RepeatedPtrField<onnx::NodeProto>& protos, std::vector<Node>* out);
  Status convert_node(onnx::NodeProto& proto, Node* out);

  ExternalData external_;
  bool imports_onnx_;  // whether the model imports the default domain its graph nodes may use
  const ResourceLimits& limits_;
  LeftOutPayloads payloads_;
  int depth_ = 0;  // subgraphs open around the graph being converted
};

// Converts a TensorProto and frees its bytes at once, so a model is not held twice in memory.
Result<Tensor> Loader::take_tensor(onnx::TensorProto* proto, const WireBytes* left_out) {
  auto tensor = tensor_from_proto(*proto, &external_, limits_, left_out);
  std::unique_ptr<std::string> released(proto->release_raw_data());
  if (left_out && payloads_.in_own_mapping) {
    // The mapped file's pages under the payload leave this process's RSS (the page cache keeps them).
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t from = (reinterpret_cast<uintptr_t>(left_out->data) + page - 1) / page * page;
    const uintptr_t to = (reinterpret_cast<uintptr_t>(left_out->data) + left_out->size) / page * page;
    if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
  }
  return tensor;
}

Status Loader::convert_value_info(const onnx::ValueInfoProto& proto, const char* role, ValueInfo* out) {
  if (proto.name().empty() && std::strcmp(role, "value_info") != 0) return invalid_model("has an ", role, " without a name");
  out->name = proto.name();
  if (!proto.has_type()) return Status::ok();
  return convert_type(proto.type(), &out->type).with_context(str_cat(role, " '", proto.name(), "'"));
}

// Attribute type from the fields that are set, for writers that leave `type` out.
onnx::AttributeProto::AttributeType infer_attribute_type(const onnx::AttributeProto& a) {
  using A = onnx::AttributeProto;
  if (a.has_f()) return A::FLOAT;
  if (a.has_i()) return A::INT;
  if (a.has_s()) return A::STRING;
  if (a.has_t()) return A::TENSOR;
  if (a.has_g()) return A::GRAPH;
  if (a.has_sparse_tensor()) return A::SPARSE_TENSOR;
  if (a.has_tp()) return A::TYPE_PROTO;
  if (a.floats_size()) return A::FLOATS;
  if (a.ints_size()) return A::INTS;
  if (a.strings_size()) return A::STRINGS;
  if (a.tensors_size()) return A::TENSORS;
  if (a.graphs_size()) return A::GRAPHS;
  if (a.sparse_tensors_size()) return A::SPARSE_TENSORS;
  if (a.type_protos_size()) return A::TYPE_PROTOS;
  return A::UNDEFINED;
}

Status Loader::convert_attribute(onnx::AttributeProto& a, Attribute* out) {
  using A = onnx::AttributeProto;
  using T = Attribute::Type;
  out->name = a.name();
  out->ref_attr_name = a.ref_attr_name();
  const A::AttributeType type = a.type() != A::UNDEFINED ? a.type() : infer_attribute_type(a);
  const bool is_reference = !a.ref_attr_name().empty();  // the value comes from the caller
  switch (type) {
    case A::FLOAT: out->type = T::float_; out->f = a.f(); return Status::ok();
    case A::INT: out->type = T::int_; out->i = a.i(); return Status::ok();
    case A::STRING: out->type = T::string_; out->s = a.s(); return Status::ok();
    case A::TENSOR:
      out->type = T::tensor_;
      if (is_reference) return Status::ok();
      { TS_ASSIGN_OR_RETURN(out->t, take_tensor(a.mutable_t())); }
      return Status::ok();
    case A::SPARSE_TENSOR:  // kept dense: kernels (Constant's sparse_value) read it like a tensor
      out->type = T::tensor_;
      if (is_reference) return Status::ok();
      { TS_ASSIGN_OR_RETURN(out->t, tensor_from_sparse_proto(a.sparse_tensor(), &external_, limits_)); }
      return Status::ok();
    case A::GRAPH:
      out->type = T::graph_;
      if (is_reference) return Status::ok();
      out->g = std::make_shared<Graph>();
      return convert_graph(*a.mutable_g(), out->g.get());
    case A::TYPE_PROTO:
      out->type = T::type_proto;
      return convert_type(a.tp(), &out->tp);
    case A::FLOATS: out->type = T::floats_; out->floats.assign(a.floats().begin(), a.floats().end()); return Status::ok();
    case A::INTS: out->type = T::ints_; out->ints.assign(a.ints().begin(), a.ints().end()); return Status::ok();
    case A::STRINGS: out->type = T::strings_; out->strings.assign(a.strings().begin(), a.strings().end()); return Status::ok();
    case A::TENSORS:
      out->type = T::tensors_;
      for (auto& t : *a.mutable_tensors()) {
        TS_ASSIGN_OR_RETURN(Tensor tensor, take_tensor(&t));
        out->tensors.push_back(std::move(tensor));
      }
      return Status::ok();
    case A::SPARSE_TENSORS:
      out->type = T::tensors_;
      for (const auto& t : a.sparse_tensors()) {
        TS_ASSIGN_OR_RETURN(Tensor tensor, tensor_from_sparse_proto(t, &external_, limits_));
        out->tensors.push_back(std::move(tensor));
      }
      return Status::ok();
    case A::GRAPHS:
      out->type = T::graphs_;
      for (auto& g : *a.mutable_graphs()) {
        auto graph = std::make_shared<Graph>();
        TS_RETURN_IF_ERROR(convert_graph(g, graph.get()));
        out->graphs.push_back(std::move(graph));
      }
      return Status::ok();
    case A::TYPE_PROTOS: return not_implemented("attributes of type TYPE_PROTOS are not supported");
    case A::UNDEFINED:
      if (is_reference) return Status::ok();
      return invalid_model("has no type and no value");
  }
  return invalid_model("has unknown attribute type ", static_cast<int>(a.type()));
}

Status Loader::convert_node(onnx::NodeProto& proto, Node* out) {
  out->op_type = proto.op_type();
  out->domain = normalize_domain(proto.domain());
  out->inputs.assign(proto.input().begin(), proto.input().end());
  out->outputs.assign(proto.output().begin(), proto.output().end());
  for (auto& a : *proto.mutable_attribute()) {
    if (a.name().empty()) return invalid_model(out->describe(), ": has an attribute without a name");
    Attribute attr;
    Status st = convert_attribute(a, &attr);
    if (!st.is_ok()) return st.with_context(out->describe() + ": attribute '" + a.name() + "'");
    if (!out->attributes.emplace(a.name(), std::move(attr)).second)
      return invalid_model(out->describe(), ": attribute '", a.name(), "' appears twice");
  }
  return Status::ok();
}

// Converts nodes in order, naming unnamed ones "<op_type>_<index>" (unique within the list) so
// errors can point at them, and checks that no value is produced twice.
Status Loader::convert_nodes(google::protobuf::RepeatedPtrField<onnx::NodeProto>& protos, std::vector<Node>* out) {
  std::unordered_set<std::string> names;
  for (const auto& p : protos)
    if (!p.name().empty()) names.insert(p.name());
  out->resize(protos.size());
  std::unordered_set<std::string> produced;
  for (int i = 0; i < protos.size(); ++i) {
    onnx::NodeProto& proto = protos[i];
    Node& node = (*out)[i];
    node.name = proto.name();
    if (node.name.empty()) {
      node.name = (proto.op_type().empty() ? std::string("node") : proto.op_type()) + "_" + std::to_string(i);
      while (!names.insert(node.name).second) node.name += "_";
    }
    if (proto.op_type().empty()) return invalid_model("node '", node.name, "' (index ", i, ") has no op_type");
    TS_RETURN_IF_ERROR(convert_node(proto, &node));
    for (const auto& output : node.outputs)
      if (!output.empty() && !produced.insert(output).second)
        return invalid_model(node.describe(), ": output '", output, "' is already produced by another node");
  }
  return Status::ok();
}

Status Loader::convert_graph(onnx::GraphProto& proto, Graph* out) {
  out->name = proto.name();
  if (depth_ > limits_.max_nesting_depth)
    return invalid_model("graph '", proto.name(), "' is a subgraph nested ", depth_,
                         " deep, over the limit max_nesting_depth = ", limits_.max_nesting_depth,
                         " (raise SessionOptions::limits.max_nesting_depth)");
  // The left-out payloads are the main graph's, the first graph converted.
  const std::unordered_map<int, WireBytes>* payloads = std::exchange(payloads_.by_initializer, nullptr);
  ++depth_;
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{depth_};
  Status st = [&]() -> Status {
    std::unordered_set<std::string> defined;  // graph inputs and initializers
    for (const auto& p : proto.input()) {
      ValueInfo vi;
      TS_RETURN_IF_ERROR(convert_value_info(p, "input", &vi));
      if (!defined.insert(vi.name).second) return invalid_model("input '", vi.name, "' is declared twice");
      out->inputs.push_back(std::move(vi));
    }
    int index = 0;
    for (auto& t : *proto.mutable_initializer()) {
      const WireBytes* left_out = nullptr;
      if (payloads)
        if (auto it = payloads->find(index); it != payloads->end()) left_out = &it->second;
      ++index;
      if (t.name().empty()) return invalid_model("has an initializer without a name");
      auto tensor = take_tensor(&t, left_out);
      if (!tensor.is_ok()) return Status(tensor.status().code(), "initializer " + tensor.status().message());
      if (!out->initializers.emplace(t.name(), std::move(tensor.value())).second)
        return invalid_model("initializer '", t.name(), "' is defined twice");
      defined.insert(t.name());
    }
    for (const auto& s : proto.sparse_initializer()) {
      const std::string& name = s.values().name();
      if (name.empty()) return invalid_model("has a sparse initializer without a name");
      auto tensor = tensor_from_sparse_proto(s, &external_, limits_);
      if (!tensor.is_ok()) return Status(tensor.status().code(), "initializer " + tensor.status().message());
      if (!out->initializers.emplace(name, std::move(tensor.value())).second)
        return invalid_model("initializer '", name, "' is defined twice");
      defined.insert(name);
    }
    for (const auto& p : proto.output()) {
      ValueInfo vi;
      TS_RETURN_IF_ERROR(convert_value_info(p, "output", &vi));
      out->outputs.push_back(std::move(vi));
    }
    for (const auto& p : proto.value_info()) {
      ValueInfo vi;
      TS_RETURN_IF_ERROR(convert_value_info(p, "value_info", &vi));
      out->value_infos.push_back(std::move(vi));
    }
    TS_RETURN_IF_ERROR(convert_nodes(*proto.mutable_node(), &out->nodes));
    for (const Node& node : out->nodes) {
      if (node.domain.empty() && !imports_onnx_)
        return invalid_model(node.describe(),
                             ": is in the default ONNX domain, which the model does not import (opset_import has no "
                             "entry for domain '')");
      for (const auto& output : node.outputs)
        if (!output.empty() && defined.count(output))
          return invalid_model(node.describe(), ": output '", output, "' is also a graph input or initializer");
    }
    return Status::ok();
  }();
  return st.with_context("graph '" + proto.name() + "'");
}

Status Loader::convert_function(onnx::FunctionProto& proto, Function* out) {
  out->name = proto.name();
  out->domain = normalize_domain(proto.domain());
  Status st = [&]() -> Status {
    if (proto.name().empty()) return invalid_model("has no name");
    out->inputs.assign(proto.input().begin(), proto.input().end());
    out->outputs.assign(proto.output().begin(), proto.output().end());
    out->attribute_names.assign(proto.attribute().begin(), proto.attribute().end());
    for (auto& a : *proto.mutable_attribute_proto()) {
      Attribute attr;
      TS_RETURN_IF_ERROR(convert_attribute(a, &attr).with_context("attribute '" + a.name() + "'"));
      out->attribute_defaults.emplace(a.name(), std::move(attr));
    }
    for (const auto& op : proto.opset_import()) out->opset_imports[normalize_domain(op.domain())] = op.version();
    return convert_nodes(*proto.mutable_node(), &out->nodes);
  }();
  return st.with_context("function '" + (out->domain.empty() ? "" : out->domain + ".") + proto.name() + "'");
}

Status convert_model(onnx::ModelProto& proto, const std::string& base_dir, const ResourceLimits& limits, Model* model,
                     LeftOutPayloads payloads) {
  model->ir_version = proto.ir_version();
  model->producer_name = proto.producer_name();
  if (proto.ir_version() < kMinIrVersion || proto.ir_version() > kMaxIrVersion)
    return not_implemented("IR version ", proto.ir_version(), " is not supported (Tessera reads IR versions ",
                           kMinIrVersion, " to ", kMaxIrVersion, ")");
  for (const auto& op : proto.opset_import()) {
    const std::string domain = normalize_domain(op.domain());
    auto [it, inserted] = model->opset_imports.emplace(domain, op.version());
    if (!inserted && it->second != op.version())
      return invalid_model("imports opset domain '", domain.empty() ? "ai.onnx" : domain, "' twice, as versions ",
                           it->second, " and ", op.version());
  }
  // As the ONNX checker does: an empty opset_import is an error; a model with only, say,
  // ai.onnx.ml nodes need not import the default domain (graph nodes are checked one by one).
  if (model->opset_imports.empty()) return invalid_model("has no opset_import (IR version 3 and later require one)");
  for (const auto& [domain, version] : model->opset_imports)
    if (version < 1)
      return invalid_model("imports opset domain '", domain.empty() ? "ai.onnx" : domain, "' with version ", version);
  if (!proto.has_graph()) return invalid_model("has no graph");
  Loader loader(base_dir, model->opset_imports.count("") > 0, limits, payloads);
  TS_RETURN_IF_ERROR(loader.convert_graph(*proto.mutable_graph(), &model->graph));

  std::set<std::pair<std::string, std::string>> seen;
  for (auto& f : *proto.mutable_functions()) {
    Function function;
    TS_RETURN_IF_ERROR(loader.convert_function(f, &function));
    if (!seen.emplace(function.domain, function.name).second)
      return invalid_model("function '", function.name, "' in domain '", function.domain, "' is defined twice");
    model->functions.push_back(std::move(function));
  }
  return Status::ok();
}

// The size checks shared by bytes and files, before parsing.
Status check_model_size(uint64_t size, const std::string& context, const ResourceLimits& limits) {
  if (size > static_cast<uint64_t>(INT_MAX))
    return invalid_model(context, ": ", size,
                         " bytes is over protobuf's 2 GB limit; large models must keep their weights in external data");
  if (size > limits.max_model_bytes)
    return invalid_model(context, ": ", size, " bytes is over the limit max_model_bytes = ", limits.max_model_bytes,
                         " (raise SessionOptions::limits.max_model_bytes)");
  if (size == 0) return invalid_model(context, ": is empty, not an ONNX model");
  return Status::ok();
}

void read_metadata(const onnx::ModelProto& proto, ModelMetadata* out) {
  out->producer_name = proto.producer_name();
  out->producer_version = proto.producer_version();
  out->graph_name = proto.graph().name();
  out->domain = proto.domain();
  out->description = proto.doc_string();
  out->graph_description = proto.graph().doc_string();
  out->version = proto.model_version();
  for (const auto& prop : proto.metadata_props()) out->custom_metadata_map[prop.key()] = prop.value();
}

// Parses with protobuf's recursion limit set from `limits`, so deeply nested messages fail
// instead of exhausting the stack.
bool parse_model(google::protobuf::io::CodedInputStream& input, const ResourceLimits& limits, onnx::ModelProto& proto) {
  input.SetRecursionLimit(limits.max_protobuf_depth);
  return proto.ParseFromCodedStream(&input) && input.ConsumedEntireMessage();
}

bool parse_model(const void* data, size_t size, const ResourceLimits& limits, onnx::ModelProto& proto) {
  google::protobuf::io::CodedInputStream input(static_cast<const uint8_t*>(data), static_cast<int>(size));
  return parse_model(input, limits, proto);
}

Status parse_failed(const std::string& context, const ResourceLimits& limits) {
  // Protobuf does not say why; these are the two causes.
  return invalid_model(context, ": not a valid ONNX model (protobuf parse failed: the bytes are not a ModelProto, or its ",
                       "messages nest deeper than the limit max_protobuf_depth = ", limits.max_protobuf_depth,
                       "; raise SessionOptions::limits.max_protobuf_depth)");
}

Result<Model> convert_parsed(onnx::ModelProto& proto, const std::string& base_dir, const std::string& source,
                             const ResourceLimits& limits, ModelMetadata* metadata, LeftOutPayloads payloads = {}) {
  if (metadata) read_metadata(proto, metadata);  // before conversion moves the graph's contents out
  Model model;
  model.source = source;
  TS_RETURN_IF_ERROR(convert_model(proto, base_dir, limits, &model, payloads)
                         .with_context("model '" + source + "'"));
  return model;
}

// Weights at least this large are copied once, from the model's bytes into their tensors, rather
// than through protobuf (model_skeleton.h); smaller ones are not worth a separate copy.
constexpr uint64_t kMinLeftOutPayload = 16 << 10;

// Loads the ModelProto in `skeleton`'s original bytes: parses the skeleton and reads the left-out
// weights from those bytes (`mapped`: the loader's own mapping of the file, whose pages it gives
// back as it goes).
Result<Model> load_skeleton(const ModelSkeleton& skeleton, const std::string& base_dir, const std::string& source,
                            const ResourceLimits& limits, ModelMetadata* metadata, bool mapped) {
  onnx::ModelProto proto;
  if (!parse_model(skeleton.bytes.data(), skeleton.bytes.size(), limits, proto))
    return parse_failed("model '" + source + "'", limits);
  return convert_parsed(proto, base_dir, source, limits, metadata, {&skeleton.payloads, mapped});
}

}  // namespace

Result<Model> load_model_bytes(const void* data, size_t size, const std::string& base_dir, const std::string& source,
                               const ResourceLimits& limits, ModelMetadata* metadata) {
  const std::string context = "model '" + source + "'";
  TS_RETURN_IF_ERROR(check_model_size(size, context, limits));
  if (std::optional<ModelSkeleton> skeleton = model_skeleton(static_cast<const uint8_t*>(data), size, kMinLeftOutPayload))
    return load_skeleton(*skeleton, base_dir, source, limits, metadata, /*mapped=*/false);
  onnx::ModelProto proto;
  if (!parse_model(data, size, limits, proto)) return parse_failed(context, limits);
  return convert_parsed(proto, base_dir, source, limits, metadata);
}

Result<Model> load_model_file(const std::string& path, const ResourceLimits& limits, ModelMetadata* metadata) {
  const std::string context = "model '" + path + "'";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(context, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return io_error(context, ": not a readable regular file");
  }
  Status size_ok = check_model_size(static_cast<uint64_t>(st.st_size), context, limits);
  if (!size_ok.is_ok()) {
    ::close(fd);
    return size_ok;
  }
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  if (base_dir.empty()) base_dir = ".";
  // Mapped, the model's large weights are copied once, straight into their tensors, and the
  // pages under each are given back as soon as it is (mapped pages count in the process's RSS).
  const size_t size = static_cast<size_t>(st.st_size);
  void* mapping = size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  if (mapping != MAP_FAILED) {
    std::optional<ModelSkeleton> skeleton = model_skeleton(static_cast<const uint8_t*>(mapping), size, kMinLeftOutPayload);
    std::optional<Result<Model>> loaded;
    if (skeleton) loaded = load_skeleton(*skeleton, base_dir, path, limits, metadata, /*mapped=*/true);
    munmap(mapping, size);
    if (loaded) {
      ::close(fd);
      return std::move(*loaded);
    }
  }
  // Otherwise read through a 1 MiB buffer, neither read whole nor mapped: the parsed message is
  // then the only copy of the weights in memory.
  onnx::ModelProto proto;
  bool parsed = false;
  {
    google::protobuf::io::FileInputStream stream(fd, 1 << 20);
    {
      google::protobuf::io::CodedInputStream input(&stream);
      parsed = parse_model(input, limits, proto);
    }  // gives back what it read ahead before the stream's errno is read
    if (!parsed && stream.GetErrno() != 0) {
      const int err = stream.GetErrno();
      ::close(fd);
      return io_error(context, ": cannot read: ", std::strerror(err));
    }
  }
  ::close(fd);
  if (!parsed) return parse_failed(context, limits);
  return convert_parsed(proto, base_dir, path, limits, metadata);
}

}  // namespace tessera
