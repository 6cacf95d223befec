#include "model/value_io.h"


#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "model/tensor_proto.h"
#include "onnx.pb.h"

namespace tessera {

namespace {

// Element kinds of SequenceProto / OptionalProto (onnx-data.proto numbering).
enum ElemKind : int32_t { kUndefined = 0, kTensor = 1, kSparseTensor = 2, kSequence = 3, kMap = 4, kOptional = 5 };

Result<std::string> read_file(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return io_error("cannot open value file '", path, "': ", std::strerror(errno));
  std::unique_ptr<FILE, int (*)(FILE*)> closer(file, &std::fclose);
  struct stat st {};
  if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) return io_error("'", path, "' is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > static_cast<uint64_t>(INT_MAX))
    return invalid_argument("value file '", path, "' is over protobuf's 2 GB limit");
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  if (!bytes.empty() && std::fread(bytes.data(), 1, bytes.size(), file) != bytes.size())
    return io_error("cannot read value file '", path, "': ", std::strerror(errno));
  return bytes;
}

template <class Message>
Status parse(const std::string& bytes, const char* type_name, Message* message) {
  if (!message->ParseFromString(bytes)) return invalid_argument("not a valid ", type_name, " (protobuf parse failed)");
  return Status::ok();
}

Result<Value> value_from_map(const onnx::MapProto& proto, ExternalData* external);
Result<Value> value_from_optional(const onnx::OptionalProto& proto, const TypeInfo* type, ExternalData* external);

// The Value kind a TypeInfo describes (an optional: what it holds); tensor when unknown.
Value::Kind kind_of(const TypeInfo* type) {
  if (!type) return Value::Kind::tensor;
  switch (type->kind) {
    case TypeInfo::Kind::sequence: return Value::Kind::sequence;
    case TypeInfo::Kind::map: return Value::Kind::map;
    case TypeInfo::Kind::optional: return kind_of(type->inner.get());
    default: return Value::Kind::tensor;
  }
}

Result<Value> value_from_sequence(const onnx::SequenceProto& proto, const TypeInfo* type, ExternalData* external) {
  const TypeInfo* inner = type ? type->inner.get() : nullptr;
  std::vector<Value> items;
  for (const auto& t : proto.tensor_values()) {
    TS_ASSIGN_OR_RETURN(Tensor tensor, tensor_from_proto(t, external));
    items.emplace_back(std::move(tensor));
  }
  for (const auto& t : proto.sparse_tensor_values()) {
    TS_ASSIGN_OR_RETURN(Tensor tensor, tensor_from_sparse_proto(t, external));
    items.emplace_back(std::move(tensor));
  }
  for (const auto& s : proto.sequence_values()) {
    TS_ASSIGN_OR_RETURN(Value v, value_from_sequence(s, inner, external));
    items.push_back(std::move(v));
  }
  for (const auto& m : proto.map_values()) {
    TS_ASSIGN_OR_RETURN(Value v, value_from_map(m, external));
    items.push_back(std::move(v));
  }
  for (const auto& o : proto.optional_values()) {
    TS_ASSIGN_OR_RETURN(Value v, value_from_optional(o, inner, external));
    items.push_back(std::move(v));
  }
  DataType elem = inner && inner->kind == TypeInfo::Kind::tensor ? inner->elem_type : DataType::undefined;
  Value::Kind elem_kind = kind_of(inner);
  switch (proto.elem_type()) {
    case kSequence: elem_kind = Value::Kind::sequence; break;
    case kMap: elem_kind = Value::Kind::map; break;
    case kTensor:
    case kSparseTensor: elem_kind = Value::Kind::tensor; break;
    default: break;
  }
  // ONNX sequences hold one type (an optional element may be empty).
  for (size_t i = 0; i < items.size(); ++i) {
    const Value& v = items[i];
    if (v.is_empty_optional()) continue;
    bool fits = v.kind() == elem_kind && (!v.is_tensor() || elem == DataType::undefined || v.tensor().dtype() == elem);
    if (!fits)
      return invalid_argument("sequence element ", i, " is ", value_type_string(v), ", which does not fit a ",
                              value_type_string(Value::sequence({}, elem, elem_kind)));
    if (v.is_tensor()) elem = v.tensor().dtype();
  }
  return Value::sequence(std::move(items), elem, elem_kind);
}

Result<Value> value_from_map(const onnx::MapProto& proto, ExternalData* external) {
  if (!is_known_dtype(proto.key_type())) return invalid_argument("map has unknown key type ", proto.key_type());
  const auto key_type = static_cast<DataType>(proto.key_type());
  Tensor keys;
  if (key_type == DataType::string) {
    TS_ASSIGN_OR_RETURN(keys, Tensor::create(DataType::string, {proto.string_keys_size()}));
    for (int i = 0; i < proto.string_keys_size(); ++i) keys.data<std::string>()[i] = proto.string_keys(i);
  } else if (is_integer_dtype(key_type) && !is_subbyte_dtype(key_type)) {
    // Integer keys travel as int64 whatever their declared width, and Tessera keeps them so.
    TS_ASSIGN_OR_RETURN(keys, Tensor::create(DataType::int64, {proto.keys_size()}));
    for (int i = 0; i < proto.keys_size(); ++i) keys.data<int64_t>()[i] = proto.keys(i);
  } else {
    return invalid_argument("map key type ", dtype_name(key_type), " is not an integer or string type");
  }
  // Values come as a sequence of one scalar tensor per key; Tessera keeps them as one 1-D tensor.
  TS_ASSIGN_OR_RETURN(Value seq, value_from_sequence(proto.values(), nullptr, external));
  const auto& items = seq.items();
  if (static_cast<int64_t>(items.size()) != keys.size())
    return invalid_argument("map has ", keys.size(), " keys but ", items.size(), " values");
  if (seq.sequence_elem_kind() != Value::Kind::tensor)
    return not_implemented("map values must be scalar tensors, got a ", value_type_string(seq));
  const DataType vtype = seq.sequence_elem_type() == DataType::undefined ? DataType::float32 : seq.sequence_elem_type();
  TS_ASSIGN_OR_RETURN(Tensor values, Tensor::create(vtype, {keys.size()}));
  const size_t width = dtype_size(vtype);
  for (size_t i = 0; i < items.size(); ++i) {
    const Tensor& item = items[i].tensor();
    if (item.size() != 1) return not_implemented("map values that are not scalars are not supported");
    if (vtype == DataType::string) values.data<std::string>()[i] = item.data<std::string>()[0];
    else std::memcpy(values.data<uint8_t>() + i * width, item.raw_data(), width);
  }
  return Value::map(std::move(keys), std::move(values));
}

Result<Value> value_from_optional(const onnx::OptionalProto& proto, const TypeInfo* type, ExternalData* external) {
  const TypeInfo* inner = type ? type->inner.get() : nullptr;
  // An empty optional may still carry the element type it would hold; what counts is the value.
  if (proto.has_tensor_value()) {
    TS_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(proto.tensor_value(), external));
    return Value(std::move(t));
  }
  if (proto.has_sparse_tensor_value()) {
    TS_ASSIGN_OR_RETURN(Tensor t, tensor_from_sparse_proto(proto.sparse_tensor_value(), external));
    return Value(std::move(t));
  }
  if (proto.has_sequence_value()) return value_from_sequence(proto.sequence_value(), inner, external);
  if (proto.has_map_value()) return value_from_map(proto.map_value(), external);
  if (proto.has_optional_value()) return value_from_optional(proto.optional_value(), inner, external);
  return Value::empty_optional();
}

Status write_file(const std::string& path, const std::string& bytes) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return io_error("cannot create '", path, "': ", std::strerror(errno));
  const bool written = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) return io_error("cannot write '", path, "': ", std::strerror(errno));
  return Status::ok();
}

Status map_to_proto(const Value& value, const std::string& name, onnx::MapProto* proto) {
  const Tensor& keys = value.map_keys();
  const Tensor& values = value.map_values();
  if (keys.size() != values.size())
    return invalid_argument("map has ", keys.size(), " keys but ", values.size(), " values");
  if (!name.empty()) proto->set_name(name);
  proto->set_key_type(static_cast<int32_t>(keys.dtype()));
  if (keys.dtype() == DataType::string) {
    for (int64_t i = 0; i < keys.size(); ++i) proto->add_string_keys(keys.data<std::string>()[i]);
  } else if (keys.dtype() == DataType::int64) {
    for (int64_t i = 0; i < keys.size(); ++i) proto->add_keys(keys.data<int64_t>()[i]);
  } else {
    return invalid_argument("map key type ", dtype_name(keys.dtype()), " is not int64 or string");
  }
  onnx::SequenceProto* seq = proto->mutable_values();
  seq->set_elem_type(kTensor);
  for (int64_t i = 0; i < values.size(); ++i) {
    TS_ASSIGN_OR_RETURN(Tensor scalar, Tensor::create(values.dtype(), {}));
    if (values.dtype() == DataType::string)
      scalar.data<std::string>()[0] = values.data<std::string>()[i];
    else
      std::memcpy(scalar.raw_data(), values.data<uint8_t>() + i * dtype_size(values.dtype()), dtype_size(values.dtype()));
    TS_RETURN_IF_ERROR(tensor_to_proto(scalar, "", seq->add_tensor_values()));
  }
  return Status::ok();
}

Status optional_to_proto(const Value& value, const std::string& name, onnx::OptionalProto* proto);

// Items go to the field of their kind; a sequence with an empty optional among its items is a
// sequence of optionals.
Status sequence_to_proto(const Value& value, const std::string& name, onnx::SequenceProto* proto) {
  if (!name.empty()) proto->set_name(name);
  bool optionals = false;
  for (const Value& item : value.items()) optionals = optionals || item.is_empty_optional();
  if (optionals) {
    proto->set_elem_type(kOptional);
    for (const Value& item : value.items()) TS_RETURN_IF_ERROR(optional_to_proto(item, "", proto->add_optional_values()));
    return Status::ok();
  }
  switch (value.sequence_elem_kind()) {
    case Value::Kind::sequence: proto->set_elem_type(kSequence); break;
    case Value::Kind::map: proto->set_elem_type(kMap); break;
    default: proto->set_elem_type(kTensor); break;
  }
  for (size_t i = 0; i < value.items().size(); ++i) {
    const Value& item = value.items()[i];
    if (item.kind() != value.sequence_elem_kind())
      return invalid_argument("sequence item ", i, " is ", value_type_string(item), " but item 0 is ",
                              value_type_string(value.items()[0]));
    switch (item.kind()) {
      case Value::Kind::tensor: TS_RETURN_IF_ERROR(tensor_to_proto(item.tensor(), "", proto->add_tensor_values())); break;
      case Value::Kind::sequence: TS_RETURN_IF_ERROR(sequence_to_proto(item, "", proto->add_sequence_values())); break;
      case Value::Kind::map: TS_RETURN_IF_ERROR(map_to_proto(item, "", proto->add_map_values())); break;
      default: return invalid_argument("sequence item ", i, " has no value");
    }
  }
  return Status::ok();
}

Status optional_to_proto(const Value& value, const std::string& name, onnx::OptionalProto* proto) {
  if (!name.empty()) proto->set_name(name);
  switch (value.kind()) {
    case Value::Kind::tensor:
      proto->set_elem_type(kTensor);
      return tensor_to_proto(value.tensor(), "", proto->mutable_tensor_value());
    case Value::Kind::sequence:
      proto->set_elem_type(kSequence);
      return sequence_to_proto(value, "", proto->mutable_sequence_value());
    case Value::Kind::map:
      proto->set_elem_type(kMap);
      return map_to_proto(value, "", proto->mutable_map_value());
    default:
      proto->set_elem_type(kUndefined);
      return Status::ok();
  }
}

}  // namespace

Result<NamedValue> read_value_file(const std::string& path, const TypeInfo& type) {
  TS_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  std::string folder = std::filesystem::path(path).parent_path().string();
  return read_value_bytes(bytes, type, folder.empty() ? "." : folder, "value file '" + path + "'");
}

Result<NamedValue> read_value_bytes(const std::string& bytes, const TypeInfo& type, const std::string& base_dir,
                                    const std::string& context) {
  ExternalData external(base_dir);
  NamedValue result;
  auto finish = [&](Result<Value> value) -> Result<NamedValue> {
    if (!value.is_ok()) return value.status().with_context(context);
    result.value = std::move(value.value());
    return std::move(result);
  };
  switch (type.kind) {
    case TypeInfo::Kind::sequence: {
      onnx::SequenceProto proto;
      TS_RETURN_IF_ERROR(parse(bytes, "SequenceProto", &proto).with_context(context));
      result.name = proto.name();
      return finish(value_from_sequence(proto, &type, &external));
    }
    case TypeInfo::Kind::optional: {
      onnx::OptionalProto proto;
      TS_RETURN_IF_ERROR(parse(bytes, "OptionalProto", &proto).with_context(context));
      result.name = proto.name();
      return finish(value_from_optional(proto, &type, &external));
    }
    case TypeInfo::Kind::map: {
      onnx::MapProto proto;
      TS_RETURN_IF_ERROR(parse(bytes, "MapProto", &proto).with_context(context));
      result.name = proto.name();
      return finish(value_from_map(proto, &external));
    }
    case TypeInfo::Kind::sparse_tensor: {
      onnx::SparseTensorProto proto;
      TS_RETURN_IF_ERROR(parse(bytes, "SparseTensorProto", &proto).with_context(context));
      result.name = proto.values().name();
      auto t = tensor_from_sparse_proto(proto, &external);
      if (!t.is_ok()) return t.status().with_context(context);
      return finish(Value(std::move(t.value())));
    }
    case TypeInfo::Kind::tensor:
    case TypeInfo::Kind::unknown: break;
  }
  onnx::TensorProto proto;
  TS_RETURN_IF_ERROR(parse(bytes, "TensorProto", &proto).with_context(context));
  result.name = proto.name();
  auto t = tensor_from_proto(proto, &external);
  if (!t.is_ok()) return t.status().with_context(context);
  return finish(Value(std::move(t.value())));
}

Status write_value_file(const std::string& path, const std::string& name, const Value& value, const TypeInfo& declared) {
  std::string bytes;
  bool serialized = false;
  Status st;
  // optional_to_proto wraps any kind, so a declared optional goes down the empty_optional case.
  const bool optional = declared.kind == TypeInfo::Kind::optional && !value.is_absent();
  switch (optional ? Value::Kind::empty_optional : value.kind()) {
    case Value::Kind::tensor: {
      onnx::TensorProto proto;
      st = tensor_to_proto(value.tensor(), name, &proto);
      serialized = st.is_ok() && proto.SerializeToString(&bytes);
      break;
    }
    case Value::Kind::sequence: {
      onnx::SequenceProto proto;
      st = sequence_to_proto(value, name, &proto);
      serialized = st.is_ok() && proto.SerializeToString(&bytes);
      break;
    }
    case Value::Kind::map: {
      onnx::MapProto proto;
      st = map_to_proto(value, name, &proto);
      serialized = st.is_ok() && proto.SerializeToString(&bytes);
      break;
    }
    case Value::Kind::empty_optional: {
      onnx::OptionalProto proto;
      st = optional_to_proto(value, name, &proto);
      serialized = st.is_ok() && proto.SerializeToString(&bytes);
      break;
    }
    case Value::Kind::absent: return invalid_argument("writing '", path, "': there is no value to write");
  }
  if (!st.is_ok()) return st.with_context("writing '" + path + "'");
  if (!serialized) return invalid_argument("writing '", path, "': value is too large to serialize (over 2 GB)");
  return write_file(path, bytes);
}

}  // namespace tessera
