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

Result<Value> value_from_sequence(const onnx::SequenceProto& proto, const TypeInfo* type, ExternalData* external) {
  if (proto.sequence_values_size() || proto.map_values_size() || proto.optional_values_size() ||
      (proto.elem_type() != kUndefined && proto.elem_type() != kTensor && proto.elem_type() != kSparseTensor))
    return not_implemented("sequences of sequences, maps or optionals are not supported");
  std::vector<Tensor> items;
  for (const auto& t : proto.tensor_values()) {
    TS_ASSIGN_OR_RETURN(Tensor tensor, tensor_from_proto(t, external));
    items.push_back(std::move(tensor));
  }
  for (const auto& t : proto.sparse_tensor_values()) {
    TS_ASSIGN_OR_RETURN(Tensor tensor, tensor_from_sparse_proto(t, external));
    items.push_back(std::move(tensor));
  }
  DataType elem = DataType::undefined;
  if (type && type->inner) elem = type->inner->elem_type;
  if (elem == DataType::undefined && !items.empty()) elem = items[0].dtype();
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].dtype() != elem)
      return invalid_argument("sequence element ", i, " has type ", dtype_name(items[i].dtype()), ", expected ",
                              dtype_name(elem));
  return Value::sequence(elem, std::move(items));
}

Result<Value> value_from_map(const onnx::MapProto& proto, ExternalData* external) {
  if (!is_known_dtype(proto.key_type())) return invalid_argument("map has unknown key type ", proto.key_type());
  const auto key_type = static_cast<DataType>(proto.key_type());
  Tensor keys;
  if (key_type == DataType::string) {
    keys = Tensor(DataType::string, {proto.string_keys_size()});
    for (int i = 0; i < proto.string_keys_size(); ++i) keys.data<std::string>()[i] = proto.string_keys(i);
  } else if (is_integer_dtype(key_type) && !is_subbyte_dtype(key_type)) {
    keys = Tensor(DataType::int64, {proto.keys_size()});
    for (int i = 0; i < proto.keys_size(); ++i) keys.data<int64_t>()[i] = proto.keys(i);
    if (key_type != DataType::int64) {
      // Narrow to the declared key type; the wire always carries int64.
      Tensor narrow(key_type, {proto.keys_size()});
      const size_t width = dtype_size(key_type);
      for (int i = 0; i < proto.keys_size(); ++i)
        std::memcpy(narrow.data<uint8_t>() + i * width, keys.data<int64_t>() + i, width);
      keys = narrow;
    }
  } else {
    return invalid_argument("map key type ", dtype_name(key_type), " is not an integer or string type");
  }
  // Values come as a sequence of one scalar tensor per key; Tessera keeps them as one 1-D tensor.
  TS_ASSIGN_OR_RETURN(Value seq, value_from_sequence(proto.values(), nullptr, external));
  const auto& items = seq.items();
  if (static_cast<int64_t>(items.size()) != keys.size())
    return invalid_argument("map has ", keys.size(), " keys but ", items.size(), " values");
  const DataType vtype = seq.sequence_elem_type() == DataType::undefined ? DataType::float32 : seq.sequence_elem_type();
  if (vtype == DataType::string) {
    Tensor values(vtype, {keys.size()});
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].size() != 1) return not_implemented("map values that are not scalars are not supported");
      values.data<std::string>()[i] = items[i].data<std::string>()[0];
    }
    return Value::map(std::move(keys), std::move(values));
  }
  Tensor values(vtype, {keys.size()});
  const size_t width = dtype_size(vtype);
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].size() != 1) return not_implemented("map values that are not scalars are not supported");
    std::memcpy(values.data<uint8_t>() + i * width, items[i].raw_data(), width);
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
  return Value::none();
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
  const DataType kt = keys.dtype();
  for (int64_t i = 0; i < keys.size(); ++i) {
    switch (kt) {
      case DataType::string: proto->add_string_keys(keys.data<std::string>()[i]); break;
      case DataType::int8: proto->add_keys(keys.data<int8_t>()[i]); break;
      case DataType::uint8: proto->add_keys(keys.data<uint8_t>()[i]); break;
      case DataType::int16: proto->add_keys(keys.data<int16_t>()[i]); break;
      case DataType::uint16: proto->add_keys(keys.data<uint16_t>()[i]); break;
      case DataType::int32: proto->add_keys(keys.data<int32_t>()[i]); break;
      case DataType::uint32: proto->add_keys(keys.data<uint32_t>()[i]); break;
      case DataType::int64: proto->add_keys(keys.data<int64_t>()[i]); break;
      case DataType::uint64: proto->add_keys(static_cast<int64_t>(keys.data<uint64_t>()[i])); break;
      default: return invalid_argument("map key type ", dtype_name(kt), " is not an integer or string type");
    }
  }
  onnx::SequenceProto* seq = proto->mutable_values();
  seq->set_elem_type(kTensor);
  for (int64_t i = 0; i < values.size(); ++i) {
    Tensor scalar(values.dtype(), {});
    if (values.dtype() == DataType::string)
      scalar.data<std::string>()[0] = values.data<std::string>()[i];
    else
      std::memcpy(scalar.raw_data(), values.data<uint8_t>() + i * dtype_size(values.dtype()), dtype_size(values.dtype()));
    TS_RETURN_IF_ERROR(tensor_to_proto(scalar, "", seq->add_tensor_values()));
  }
  return Status::ok();
}

}  // namespace

Result<NamedValue> read_value_file(const std::string& path, const TypeInfo& type) {
  TS_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  std::string folder = std::filesystem::path(path).parent_path().string();
  ExternalData external(folder.empty() ? "." : folder);
  const std::string context = "value file '" + path + "'";
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

Status write_value_file(const std::string& path, const std::string& name, const Value& value) {
  std::string bytes;
  bool serialized = false;
  Status st;
  switch (value.kind()) {
    case Value::Kind::tensor: {
      onnx::TensorProto proto;
      st = tensor_to_proto(value.tensor(), name, &proto);
      serialized = st.is_ok() && proto.SerializeToString(&bytes);
      break;
    }
    case Value::Kind::sequence: {
      onnx::SequenceProto proto;
      if (!name.empty()) proto.set_name(name);
      proto.set_elem_type(kTensor);
      for (const Tensor& item : value.items()) {
        st = tensor_to_proto(item, "", proto.add_tensor_values());
        if (!st.is_ok()) break;
      }
      serialized = st.is_ok() && proto.SerializeToString(&bytes);
      break;
    }
    case Value::Kind::map: {
      onnx::MapProto proto;
      st = map_to_proto(value, name, &proto);
      serialized = st.is_ok() && proto.SerializeToString(&bytes);
      break;
    }
    case Value::Kind::none: {
      onnx::OptionalProto proto;
      if (!name.empty()) proto.set_name(name);
      proto.set_elem_type(kUndefined);
      serialized = proto.SerializeToString(&bytes);
      break;
    }
  }
  if (!st.is_ok()) return st.with_context("writing '" + path + "'");
  if (!serialized) return invalid_argument("writing '", path, "': value is too large to serialize (over 2 GB)");
  return write_file(path, bytes);
}

}  // namespace tessera
