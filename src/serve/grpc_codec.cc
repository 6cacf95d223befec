#include "src/serve/grpc_codec.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <exception>
#include <string_view>
#include <type_traits>
#include <utility>

namespace tessera::serve {
namespace {

using inference::InferTensorContents;

grpc::Status invalid(const Status& status) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, status.message());
}

// An element fits T: integers by range (an INT8 input sent as int_contents 300 is refused).
template <class T, class V>
bool fits(V value) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return std::in_range<T>(value);
  else return true;
}

template <class T, class Repeated>
Status copy_in(const Repeated& values, Tensor& tensor, const std::string& input, const char* field) {
  if (values.size() != tensor.size())
    return invalid_argument("input '", input, "': ", values.size(), " values in contents.", field, " for shape ",
                            shape_to_string(tensor.shape()), " of ", tensor.size(), " elements");
  T* out = tensor.data<T>();
  for (int i = 0; i < values.size(); ++i) {
    if (!fits<T>(values[i]))
      return invalid_argument("input '", input, "': element ", i, " (", values[i], ") is out of range for ",
                              datatype_to_v2(tensor.dtype()));
    out[i] = static_cast<T>(values[i]);
  }
  return Status::ok();
}

Status fill_typed(const InferTensorContents& c, Tensor& tensor, const std::string& input) {
  switch (tensor.dtype()) {
    case DataType::boolean: return copy_in<bool>(c.bool_contents(), tensor, input, "bool_contents");
    case DataType::int8: return copy_in<int8_t>(c.int_contents(), tensor, input, "int_contents");
    case DataType::int16: return copy_in<int16_t>(c.int_contents(), tensor, input, "int_contents");
    case DataType::int32: return copy_in<int32_t>(c.int_contents(), tensor, input, "int_contents");
    case DataType::int64: return copy_in<int64_t>(c.int64_contents(), tensor, input, "int64_contents");
    case DataType::uint8: return copy_in<uint8_t>(c.uint_contents(), tensor, input, "uint_contents");
    case DataType::uint16: return copy_in<uint16_t>(c.uint_contents(), tensor, input, "uint_contents");
    case DataType::uint32: return copy_in<uint32_t>(c.uint_contents(), tensor, input, "uint_contents");
    case DataType::uint64: return copy_in<uint64_t>(c.uint64_contents(), tensor, input, "uint64_contents");
    case DataType::float32: return copy_in<float>(c.fp32_contents(), tensor, input, "fp32_contents");
    case DataType::float64: return copy_in<double>(c.fp64_contents(), tensor, input, "fp64_contents");
    case DataType::string: {
      const auto& values = c.bytes_contents();
      if (values.size() != tensor.size())
        return invalid_argument("input '", input, "': ", values.size(), " values in contents.bytes_contents for shape ",
                                shape_to_string(tensor.shape()), " of ", tensor.size(), " elements");
      std::string* out = tensor.data<std::string>();
      for (int i = 0; i < values.size(); ++i) out[i] = values[i];
      return Status::ok();
    }
    default:
      return invalid_argument("input '", input, "': ", datatype_to_v2(tensor.dtype()),
                              " has no typed contents field; send it in raw_input_contents");
  }
}

template <class T, class Repeated>
void copy_out(const Tensor& tensor, Repeated* values) {
  values->Reserve(static_cast<int>(tensor.size()));
  for (const T& value : tensor.span<T>()) values->Add(value);
}

// False when the datatype has no typed contents field.
bool add_typed(const Tensor& tensor, InferTensorContents& c) {
  switch (tensor.dtype()) {
    case DataType::boolean: copy_out<bool>(tensor, c.mutable_bool_contents()); return true;
    case DataType::int8: copy_out<int8_t>(tensor, c.mutable_int_contents()); return true;
    case DataType::int16: copy_out<int16_t>(tensor, c.mutable_int_contents()); return true;
    case DataType::int32: copy_out<int32_t>(tensor, c.mutable_int_contents()); return true;
    case DataType::int64: copy_out<int64_t>(tensor, c.mutable_int64_contents()); return true;
    case DataType::uint8: copy_out<uint8_t>(tensor, c.mutable_uint_contents()); return true;
    case DataType::uint16: copy_out<uint16_t>(tensor, c.mutable_uint_contents()); return true;
    case DataType::uint32: copy_out<uint32_t>(tensor, c.mutable_uint_contents()); return true;
    case DataType::uint64: copy_out<uint64_t>(tensor, c.mutable_uint64_contents()); return true;
    case DataType::float32: copy_out<float>(tensor, c.mutable_fp32_contents()); return true;
    case DataType::float64: copy_out<double>(tensor, c.mutable_fp64_contents()); return true;
    case DataType::string:
      for (const std::string& s : tensor.span<std::string>()) c.add_bytes_contents(s);
      return true;
    default: return false;
  }
}

bool has_typed_field(DataType dtype) { return dtype != DataType::float16 && datatype_to_v2(dtype) != nullptr; }

bool any_typed_value(const InferTensorContents& c) {
  return c.bool_contents_size() || c.int_contents_size() || c.int64_contents_size() || c.uint_contents_size() ||
         c.uint64_contents_size() || c.fp32_contents_size() || c.fp64_contents_size() || c.bytes_contents_size();
}

// A boolean request parameter; INVALID_ARGUMENT when it is there but not a bool.
grpc::Status bool_parameter(const google::protobuf::Map<std::string, inference::InferParameter>& params,
                            const std::string& key, const std::string& where, bool& value) {
  auto it = params.find(key);
  if (it == params.end()) return grpc::Status::OK;
  if (it->second.parameter_choice_case() != inference::InferParameter::kBoolParam)
    return invalid(invalid_argument(where, "parameter ", key, " must be a bool_param"));
  value = it->second.bool_param();
  return grpc::Status::OK;
}

grpc::Status decode(const inference::ModelInferRequest& message, const std::vector<IoInfo>& model_inputs,
                    const std::vector<IoInfo>& model_outputs, const CodecLimits& limits, InferRequest& request) {
  const bool raw = message.raw_input_contents_size() > 0;
  if (raw && message.raw_input_contents_size() != message.inputs_size())
    return invalid(invalid_argument("raw_input_contents has ", message.raw_input_contents_size(), " entries for ",
                                    message.inputs_size(), " inputs (one per input, in order)"));
  request.id = message.id();
  std::vector<Tensor> by_position(model_inputs.size());
  for (int i = 0; i < message.inputs_size(); ++i) {
    const auto& input = message.inputs(i);
    auto index = find_model_input(input.name(), model_inputs);
    if (!index.is_ok()) return invalid(index.status());
    auto dtype = datatype_from_v2(input.datatype());
    if (!dtype) return invalid(invalid_argument("input '", input.name(), "': unknown datatype \"", input.datatype(), "\""));
    Shape shape(input.shape().begin(), input.shape().end());
    for (int64_t dim : shape)
      if (dim < 0) return invalid(invalid_argument("input '", input.name(), "': shape ", shape_to_string(shape),
                                                   " has a negative dimension"));
    if (Status s = check_input(model_inputs[*index], *dtype, shape); !s.is_ok()) return invalid(s);
    if (Status s = check_tensor_size(input.name(), *dtype, shape, limits); !s.is_ok())
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, s.message());
    if (by_position[*index].defined())
      return invalid(invalid_argument("input '", input.name(), "' is given twice"));
    auto tensor = Tensor::create(*dtype, shape);
    if (!tensor.is_ok()) return invalid(tensor.status().with_context(str_cat("input '", input.name(), "'")));
    Status filled;
    if (raw) {
      if (input.has_contents() && any_typed_value(input.contents()))
        return invalid(invalid_argument("input '", input.name(),
                                        "': both contents and raw_input_contents; send one of them"));
      filled = fill_raw(message.raw_input_contents(i), *tensor, input.name());
    } else {
      filled = fill_typed(input.contents(), *tensor, input.name());
    }
    if (!filled.is_ok()) return invalid(filled);
    by_position[*index] = std::move(tensor).value();
  }
  auto feeds = feeds_in_model_order(std::move(by_position), model_inputs);
  if (!feeds.is_ok()) return invalid(feeds.status());
  request.feeds = std::move(feeds).value();

  request.binary_outputs = raw;
  if (grpc::Status s = bool_parameter(message.parameters(), "binary_data_output", "", request.binary_outputs); !s.ok())
    return s;
  for (const auto& output : message.outputs()) {
    if (Status s = check_output_name(output.name(), model_outputs); !s.is_ok()) return invalid(s);
    request.outputs.push_back({output.name(), request.binary_outputs});
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status parse_message(const grpc::ByteBuffer& bytes, size_t max_bytes, grpc::protobuf::MessageLite& message) {
  if (!bytes.Valid())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no " + message.GetTypeName() + " in the call");
  const size_t size = bytes.Length();
  if (size > max_bytes)
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "the request is " + std::to_string(size) + " bytes, over the server's limit of " +
                            std::to_string(max_bytes) + " bytes");
  grpc::ByteBuffer shared(bytes);  // the reader needs a mutable buffer; this copy shares the slices
  grpc::ProtoBufferReader reader(&shared);
  grpc::protobuf::io::CodedInputStream input(&reader);
  input.SetRecursionLimit(kMaxMessageNesting);
  if (!reader.status().ok() || !message.ParseFromCodedStream(&input) || !input.ConsumedEntireMessage())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "malformed protobuf: the request's " + std::to_string(size) + " bytes are not a " +
                            message.GetTypeName() + " (bad wire format, truncated, or nested deeper than " +
                            std::to_string(kMaxMessageNesting) + " levels)");
  return grpc::Status::OK;
}

grpc::Status decode_model_infer(const inference::ModelInferRequest& message, const std::vector<IoInfo>& model_inputs,
                                const std::vector<IoInfo>& model_outputs, const CodecLimits& limits,
                                InferRequest& request) {
  // As the JSON decoder: any slip (an allocation too large to make) is an error answer, never a crash.
  try {
    return decode(message, model_inputs, model_outputs, limits, request);
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string("bad request: ") + e.what());
  }
}

grpc::Status encode_model_infer(const std::string& model_name, const std::string& model_version,
                                const InferRequest& request, const std::vector<IoInfo>& model_outputs,
                                const std::vector<Value>& outputs, inference::ModelInferResponse& response) {
  std::vector<std::string> wanted;
  for (const RequestedOutput& o : request.outputs) wanted.push_back(o.name);
  if (wanted.empty())
    for (const IoInfo& io : model_outputs) wanted.push_back(io.name);
  response.set_model_name(model_name);
  response.set_model_version(model_version);
  response.set_id(request.id);
  std::vector<const Tensor*> tensors;
  bool raw = request.binary_outputs;
  for (const std::string& name : wanted) {
    size_t index = 0;
    while (index < model_outputs.size() && model_outputs[index].name != name) ++index;
    if (index >= outputs.size() || !outputs[index].is_tensor())
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "output '" + name + "' is not a tensor, which the v2 protocol cannot carry");
    const Tensor& tensor = outputs[index].tensor();
    const char* v2_name = datatype_to_v2(tensor.dtype());
    if (!v2_name)
      return grpc::Status(grpc::StatusCode::INTERNAL, "output '" + name + "' is " +
                                                          std::string(dtype_name(tensor.dtype())) +
                                                          ", which has no v2 datatype");
    raw = raw || !has_typed_field(tensor.dtype());
    auto* out = response.add_outputs();
    out->set_name(name);
    out->set_datatype(v2_name);
    for (int64_t dim : tensor.shape()) out->add_shape(dim);
    tensors.push_back(&tensor);
  }
  // raw_output_contents is all or nothing: one entry per output, in order.
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (raw) append_raw(*tensors[i], *response.add_raw_output_contents());
    else add_typed(*tensors[i], *response.mutable_outputs(static_cast<int>(i))->mutable_contents());
  }
  return grpc::Status::OK;
}

}  // namespace tessera::serve
