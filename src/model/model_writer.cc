#include "model/model_writer.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "model/tensor_proto.h"
#include "onnx.pb.h"

namespace tessera {

namespace {

namespace fs = std::filesystem;

// Protobuf refuses to parse (and to serialize) messages of 2 GB or more.
constexpr uint64_t kProtobufLimit = INT_MAX;
// What the automatic choice leaves for everything but tensor data (nodes, names, types).
constexpr uint64_t kStructureAllowance = uint64_t{64} << 20;
// External data offsets are aligned like Tessera's allocations, so the loader maps them in place.
constexpr uint64_t kExternalAlignment = 64;

std::string describe_model(const Model& model) {
  return model.source.empty() ? "model" : "model '" + model.source + "'";
}

void write_shape(const std::vector<Dim>& dims, onnx::TensorShapeProto* out) {
  for (const Dim& d : dims) {
    auto* dim = out->add_dim();
    if (d.is_fixed())
      dim->set_dim_value(d.value);
    else if (!d.param.empty())
      dim->set_dim_param(d.param);
  }
}

void write_type(const TypeInfo& type, onnx::TypeProto* out) {
  switch (type.kind) {
    case TypeInfo::Kind::tensor: {
      auto* t = out->mutable_tensor_type();
      t->set_elem_type(static_cast<int32_t>(type.elem_type));
      if (type.shape) write_shape(*type.shape, t->mutable_shape());
      return;
    }
    case TypeInfo::Kind::sparse_tensor: {
      auto* t = out->mutable_sparse_tensor_type();
      t->set_elem_type(static_cast<int32_t>(type.elem_type));
      if (type.shape) write_shape(*type.shape, t->mutable_shape());
      return;
    }
    case TypeInfo::Kind::sequence: {
      auto* elem = out->mutable_sequence_type()->mutable_elem_type();
      if (type.inner) write_type(*type.inner, elem);
      return;
    }
    case TypeInfo::Kind::optional: {
      auto* elem = out->mutable_optional_type()->mutable_elem_type();
      if (type.inner) write_type(*type.inner, elem);
      return;
    }
    case TypeInfo::Kind::map: {
      auto* map = out->mutable_map_type();
      map->set_key_type(static_cast<int32_t>(type.elem_type));
      auto* value = map->mutable_value_type();
      if (type.inner) write_type(*type.inner, value);
      return;
    }
    case TypeInfo::Kind::unknown: return;  // an empty TypeProto reads back as unknown
  }
}

void write_value_info(const ValueInfo& info, onnx::ValueInfoProto* out) {
  out->set_name(info.name);
  if (info.type.kind != TypeInfo::Kind::unknown) write_type(info.type, out->mutable_type());
}

// Calls `fn` on every tensor the graph holds: initializers and tensor attributes, in subgraphs too.
template <class Fn>
void for_each_tensor(const std::vector<Node>& nodes, Fn&& fn);

template <class Fn>
void for_each_tensor(const Graph& graph, Fn&& fn) {
  for (const auto& [name, tensor] : graph.initializers) fn(tensor);
  for_each_tensor(graph.nodes, fn);
}

template <class Fn>
void for_each_tensor(const std::map<std::string, Attribute>& attributes, Fn&& fn) {
  for (const auto& [name, attr] : attributes) {
    if (attr.t.defined()) fn(attr.t);
    for (const Tensor& t : attr.tensors) fn(t);
    if (attr.g) for_each_tensor(*attr.g, fn);
    for (const auto& g : attr.graphs) for_each_tensor(*g, fn);
  }
}

template <class Fn>
void for_each_tensor(const std::vector<Node>& nodes, Fn&& fn) {
  for (const Node& node : nodes) for_each_tensor(node.attributes, fn);
}

uint64_t tensor_bytes(const Model& model) {
  uint64_t total = 0;
  auto add = [&](const Tensor& t) {
    if (t.dtype() != DataType::string) {
      total += wire_byte_size(t.dtype(), t.size());
      return;
    }
    for (const std::string& s : t.span<std::string>()) total += s.size();
  };
  for_each_tensor(model.graph, add);
  for (const Function& f : model.functions) {
    for_each_tensor(f.nodes, add);
    for_each_tensor(f.attribute_defaults, add);
  }
  return total;
}

void collect_domains(const Graph& graph, std::set<std::string>& domains) {
  for (const Node& node : graph.nodes) {
    domains.insert(node.domain);
    for (const auto& [name, attr] : node.attributes) {
      if (attr.g) collect_domains(*attr.g, domains);
      for (const auto& g : attr.graphs) collect_domains(*g, domains);
    }
  }
}

// The model's imports plus one for each domain its graph uses without importing it (a rewrite
// may introduce a domain, e.g. com.tessera; inlined function bodies bring their own domains).
std::map<std::string, int64_t> opset_imports_for(const Model& model) {
  std::map<std::string, int64_t> imports = model.opset_imports;
  std::set<std::string> used;
  collect_domains(model.graph, used);
  for (const std::string& domain : used) {
    if (imports.count(domain)) continue;
    int64_t version = 1;
    for (const Function& f : model.functions) {
      auto it = f.opset_imports.find(domain);
      if (it != f.opset_imports.end()) {
        version = it->second;
        break;
      }
    }
    imports[domain] = version;
  }
  return imports;
}

// Converts the IR to protobuf; holds what one save shares (where large tensors go).
class Writer {
 public:
  // `threshold`: tensors of at least this many bytes go to external data at `location`.
  Writer(std::optional<uint64_t> threshold, std::string location)
      : threshold_(threshold), location_(std::move(location)) {}

  Status write_graph(const Graph& graph, onnx::GraphProto* out);
  Status write_function(const Function& function, onnx::FunctionProto* out);

  struct External {
    const Tensor* tensor;
    uint64_t offset;
  };
  const std::vector<External>& externals() const { return externals_; }

 private:
  Status write_nodes(const std::vector<Node>& nodes, google::protobuf::RepeatedPtrField<onnx::NodeProto>* out);
  Status write_attribute(const Node& node, const Attribute& attr, onnx::AttributeProto* out);
  Status write_tensor(const Tensor& tensor, const std::string& name, onnx::TensorProto* out);

  std::optional<uint64_t> threshold_;
  std::string location_;
  std::vector<External> externals_;  // in file order
  uint64_t data_size_ = 0;
};

Status Writer::write_tensor(const Tensor& tensor, const std::string& name, onnx::TensorProto* out) {
  // Empty tensors stay inline: an aligned offset for no bytes could point past the file's end.
  const uint64_t length = tensor.defined() ? wire_byte_size(tensor.dtype(), tensor.size()) : 0;
  const bool external = threshold_ && tensor.dtype() != DataType::string && length > 0 && length >= *threshold_;
  if (!external) return tensor_to_proto(tensor, name, out);
  // The tensor's bytes are written to the data file afterwards; the proto only points at them.
  const uint64_t offset = (data_size_ + kExternalAlignment - 1) / kExternalAlignment * kExternalAlignment;
  if (!name.empty()) out->set_name(name);
  out->set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.shape()) out->add_dims(d);
  out->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add_entry = [&](const char* key, std::string value) {
    auto* entry = out->add_external_data();
    entry->set_key(key);
    entry->set_value(std::move(value));
  };
  add_entry("location", location_);
  add_entry("offset", std::to_string(offset));
  add_entry("length", std::to_string(length));
  externals_.push_back({&tensor, offset});
  data_size_ = offset + length;
  return Status::ok();
}

Status Writer::write_attribute(const Node& node, const Attribute& attr, onnx::AttributeProto* out) {
  using A = onnx::AttributeProto;
  using T = Attribute::Type;
  out->set_name(attr.name);
  if (!attr.ref_attr_name.empty()) out->set_ref_attr_name(attr.ref_attr_name);
  const bool is_reference = !attr.ref_attr_name.empty();  // the value comes from the caller
  switch (attr.type) {
    case T::float_: out->set_type(A::FLOAT); out->set_f(attr.f); return Status::ok();
    case T::int_: out->set_type(A::INT); out->set_i(attr.i); return Status::ok();
    case T::string_: out->set_type(A::STRING); out->set_s(attr.s); return Status::ok();
    case T::tensor_:
      // The loader keeps Constant's sparse_value dense; ONNX requires that attribute sparse.
      if (node.op_type == "Constant" && node.domain.empty() && attr.name == "sparse_value") {
        out->set_type(A::SPARSE_TENSOR);
        if (is_reference) return Status::ok();
        return tensor_to_sparse_proto(attr.t, "", out->mutable_sparse_tensor());
      }
      out->set_type(A::TENSOR);
      if (is_reference) return Status::ok();
      return write_tensor(attr.t, "", out->mutable_t());
    case T::graph_:
      out->set_type(A::GRAPH);
      if (is_reference || !attr.g) return Status::ok();
      return write_graph(*attr.g, out->mutable_g());
    case T::type_proto:
      out->set_type(A::TYPE_PROTO);
      write_type(attr.tp, out->mutable_tp());
      return Status::ok();
    case T::floats_:
      out->set_type(A::FLOATS);
      out->mutable_floats()->Add(attr.floats.begin(), attr.floats.end());
      return Status::ok();
    case T::ints_:
      out->set_type(A::INTS);
      out->mutable_ints()->Add(attr.ints.begin(), attr.ints.end());
      return Status::ok();
    case T::strings_:
      out->set_type(A::STRINGS);
      for (const std::string& s : attr.strings) out->add_strings(s);
      return Status::ok();
    case T::tensors_:
      out->set_type(A::TENSORS);
      for (const Tensor& t : attr.tensors) TS_RETURN_IF_ERROR(write_tensor(t, "", out->add_tensors()));
      return Status::ok();
    case T::graphs_:
      out->set_type(A::GRAPHS);
      for (const auto& g : attr.graphs) {
        if (!g) return invalid_argument("a graph of the list is missing");
        TS_RETURN_IF_ERROR(write_graph(*g, out->add_graphs()));
      }
      return Status::ok();
    case T::undefined:
      if (is_reference) return Status::ok();
      return invalid_argument("has no type and no value");
  }
  return invalid_argument("has unknown attribute type ", static_cast<int>(attr.type));
}

Status Writer::write_nodes(const std::vector<Node>& nodes, google::protobuf::RepeatedPtrField<onnx::NodeProto>* out) {
  for (const Node& node : nodes) {
    onnx::NodeProto* proto = out->Add();
    proto->set_name(node.name);
    proto->set_op_type(node.op_type);
    if (!node.domain.empty()) proto->set_domain(node.domain);
    for (const auto& in : node.inputs) proto->add_input(in);
    for (const auto& o : node.outputs) proto->add_output(o);
    for (const auto& [name, attr] : node.attributes) {
      Status st = write_attribute(node, attr, proto->add_attribute());
      if (!st.is_ok()) return st.with_context(node.describe() + ": attribute '" + name + "'");
    }
  }
  return Status::ok();
}

Status Writer::write_graph(const Graph& graph, onnx::GraphProto* out) {
  out->set_name(graph.name);
  Status st = [&]() -> Status {
    for (const ValueInfo& in : graph.inputs) write_value_info(in, out->add_input());
    for (const ValueInfo& o : graph.outputs) write_value_info(o, out->add_output());
    for (const ValueInfo& vi : graph.value_infos) write_value_info(vi, out->add_value_info());
    for (const auto& [name, tensor] : graph.initializers) {
      Status written = write_tensor(tensor, name, out->add_initializer());
      if (!written.is_ok()) return written.with_context("initializer '" + name + "'");
    }
    return write_nodes(graph.nodes, out->mutable_node());
  }();
  return st.with_context("graph '" + graph.name + "'");
}

Status Writer::write_function(const Function& function, onnx::FunctionProto* out) {
  out->set_name(function.name);
  if (!function.domain.empty()) out->set_domain(function.domain);
  for (const auto& in : function.inputs) out->add_input(in);
  for (const auto& o : function.outputs) out->add_output(o);
  for (const auto& a : function.attribute_names) out->add_attribute(a);
  Status st = [&]() -> Status {
    for (const auto& [name, attr] : function.attribute_defaults) {
      // No node holds a default: a dummy keeps write_attribute's Constant check false.
      TS_RETURN_IF_ERROR(write_attribute(Node{}, attr, out->add_attribute_proto()).with_context("attribute '" + name + "'"));
    }
    for (const auto& [domain, version] : function.opset_imports) {
      auto* op = out->add_opset_import();
      op->set_domain(domain);
      op->set_version(version);
    }
    return write_nodes(function.nodes, out->mutable_node());
  }();
  return st.with_context("function '" + (function.domain.empty() ? "" : function.domain + ".") + function.name + "'");
}

Status to_proto(const Model& model, Writer& writer, onnx::ModelProto* proto) {
  proto->set_ir_version(model.ir_version);
  if (!model.producer_name.empty()) proto->set_producer_name(model.producer_name);
  for (const auto& [domain, version] : opset_imports_for(model)) {
    auto* op = proto->add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  TS_RETURN_IF_ERROR(writer.write_graph(model.graph, proto->mutable_graph()));
  for (const Function& f : model.functions) TS_RETURN_IF_ERROR(writer.write_function(f, proto->add_functions()));
  return Status::ok();
}

Status check_size(const onnx::ModelProto& proto, const char* advice) {
  const uint64_t size = proto.ByteSizeLong();
  if (size >= kProtobufLimit)
    return invalid_argument("serialized, it would be ", size, " bytes, over protobuf's 2 GB limit; ", advice);
  return Status::ok();
}

// Writes `path` through a temporary file renamed over it: a reader never sees half a file, and a
// file being replaced that is still memory-mapped (the weights of the model being saved, when it
// is saved over itself) keeps its old contents until unmapped.
template <class WriteFn>
Status write_file(const std::string& path, WriteFn&& write) {
  const std::string temp = path + ".tmp";
  std::ofstream out(temp, std::ios::binary | std::ios::trunc);
  if (!out) return io_error("cannot create '", temp, "': ", std::strerror(errno));
  bool written = write(out);
  out.close();
  if (!written || !out) {
    const int err = errno;
    std::error_code ignored;
    fs::remove(temp, ignored);
    return io_error("cannot write '", temp, "': ", std::strerror(err));
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    return io_error("cannot rename '", temp, "' to '", path, "': ", ec.message());
  }
  return Status::ok();
}

// Writes each external tensor's wire bytes (packed for sub-byte types) at its offset.
bool write_external_data(const std::vector<Writer::External>& externals, std::ostream& out) {
  uint64_t position = 0;
  std::vector<uint8_t> packed;
  static const char kZeros[kExternalAlignment] = {};
  for (const auto& [tensor, offset] : externals) {
    out.write(kZeros, static_cast<std::streamsize>(offset - position));
    const uint64_t length = wire_byte_size(tensor->dtype(), tensor->size());
    const char* bytes = static_cast<const char*>(tensor->raw_data());
    if (is_subbyte_dtype(tensor->dtype())) {
      packed.resize(length);
      pack_subbyte(tensor->dtype(), tensor->data<uint8_t>(), tensor->size(), packed.data());
      bytes = reinterpret_cast<const char*>(packed.data());
    }
    out.write(bytes, static_cast<std::streamsize>(length));
    if (!out) return false;
    position = offset + length;
  }
  return true;
}

}  // namespace

Result<std::string> serialize_model(const Model& model) {
  const std::string context = describe_model(model);
  Writer writer(std::nullopt, "");
  onnx::ModelProto proto;
  TS_RETURN_IF_ERROR(to_proto(model, writer, &proto).with_context(context));
  TS_RETURN_IF_ERROR(
      check_size(proto, "save it to a file, where large tensors go to external data").with_context(context));
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) return runtime_error(context, ": protobuf serialization failed");
  return bytes;
}

Status save_model(const Model& model, const std::string& path, const SaveOptions& options) {
  const std::string context = describe_model(model) + ": saving to '" + path + "'";
  std::optional<uint64_t> threshold = options.external_data_threshold;
  if (!threshold && tensor_bytes(model) + kStructureAllowance >= kProtobufLimit) threshold = kAutoExternalDataMinBytes;
  const std::string data_path = path + ".data";
  Writer writer(threshold, fs::path(data_path).filename().string());
  onnx::ModelProto proto;
  TS_RETURN_IF_ERROR(to_proto(model, writer, &proto).with_context(context));
  TS_RETURN_IF_ERROR(check_size(proto, "lower SaveOptions::external_data_threshold").with_context(context));
  // The model file is written last: a reader never sees a model whose data is not there yet.
  if (!writer.externals().empty()) {
    Status st = write_file(data_path, [&](std::ostream& out) { return write_external_data(writer.externals(), out); });
    TS_RETURN_IF_ERROR(st.with_context(context));
  }
  Status st = write_file(path, [&](std::ostream& out) { return proto.SerializeToOstream(&out); });
  TS_RETURN_IF_ERROR(st.with_context(context));
  return Status::ok();
}

}  // namespace tessera
