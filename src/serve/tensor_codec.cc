#include "src/serve/tensor_codec.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>

namespace tessera::serve {
namespace {

using nlohmann::json;

struct V2Type {
  const char* name;
  DataType type;
};
constexpr V2Type kV2Types[] = {
    {"BOOL", DataType::boolean}, {"UINT8", DataType::uint8},     {"UINT16", DataType::uint16},
    {"UINT32", DataType::uint32}, {"UINT64", DataType::uint64},  {"INT8", DataType::int8},
    {"INT16", DataType::int16},  {"INT32", DataType::int32},     {"INT64", DataType::int64},
    {"FP16", DataType::float16}, {"FP32", DataType::float32},    {"FP64", DataType::float64},
    {"BYTES", DataType::string},
};

// Deeply nested JSON ('[[[[...') is refused before parsing, so no recursion can run deep.
constexpr int kMaxJsonDepth = 64;

bool json_depth_ok(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// Flattens "data" (flat or nested arrays, row-major) into its leaves.
void flatten(const json& data, std::vector<const json*>& leaves) {
  if (!data.is_array()) {
    leaves.push_back(&data);
    return;
  }
  for (const json& item : data) flatten(item, leaves);
}

template <class T>
bool json_to(const json& item, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!item.is_boolean()) return false;
    out = item.get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!item.is_number()) return false;
    out = static_cast<T>(item.get<double>());
  } else if constexpr (std::is_signed_v<T>) {
    if (item.is_number_unsigned()) {
      uint64_t v = item.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
      out = static_cast<T>(v);
    } else if (item.is_number_integer()) {
      int64_t v = item.get<int64_t>();
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
      out = static_cast<T>(v);
    } else {
      return false;
    }
  } else {
    if (!item.is_number_unsigned() && !(item.is_number_integer() && item.get<int64_t>() >= 0)) return false;
    uint64_t v = item.get<uint64_t>();
    if (v > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(v);
  }
  return true;
}

template <class T>
Status fill_from_json(const std::vector<const json*>& leaves, Tensor& tensor, const std::string& input,
                      const char* v2_name) {
  T* out = tensor.data<T>();
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!json_to(*leaves[i], out[i]))
      return invalid_argument("input '", input, "': element ", i, " (", leaves[i]->dump(), ") is not a valid ", v2_name);
  }
  return Status::ok();
}

Status fill_json(const json& data, Tensor& tensor, const std::string& input, const char* v2_name) {
  std::vector<const json*> leaves;
  leaves.reserve(static_cast<size_t>(tensor.size()));
  flatten(data, leaves);
  if (static_cast<int64_t>(leaves.size()) != tensor.size())
    return invalid_argument("input '", input, "': ", leaves.size(), " data elements for shape ",
                            shape_to_string(tensor.shape()), " of ", tensor.size(), " elements");
  switch (tensor.dtype()) {
    case DataType::boolean: return fill_from_json<bool>(leaves, tensor, input, v2_name);
    case DataType::uint8: return fill_from_json<uint8_t>(leaves, tensor, input, v2_name);
    case DataType::uint16: return fill_from_json<uint16_t>(leaves, tensor, input, v2_name);
    case DataType::uint32: return fill_from_json<uint32_t>(leaves, tensor, input, v2_name);
    case DataType::uint64: return fill_from_json<uint64_t>(leaves, tensor, input, v2_name);
    case DataType::int8: return fill_from_json<int8_t>(leaves, tensor, input, v2_name);
    case DataType::int16: return fill_from_json<int16_t>(leaves, tensor, input, v2_name);
    case DataType::int32: return fill_from_json<int32_t>(leaves, tensor, input, v2_name);
    case DataType::int64: return fill_from_json<int64_t>(leaves, tensor, input, v2_name);
    case DataType::float32: return fill_from_json<float>(leaves, tensor, input, v2_name);
    case DataType::float64: return fill_from_json<double>(leaves, tensor, input, v2_name);
    case DataType::string: {
      std::string* out = tensor.data<std::string>();
      for (size_t i = 0; i < leaves.size(); ++i) {
        if (!leaves[i]->is_string()) return invalid_argument("input '", input, "': element ", i, " is not a string (BYTES)");
        out[i] = leaves[i]->get<std::string>();
      }
      return Status::ok();
    }
    default:
      return invalid_argument("input '", input, "': ", v2_name,
                              " has no JSON form; send it with the binary tensor data extension");
  }
}

std::string io_names(const std::vector<IoInfo>& ios) {
  std::string names;
  for (const IoInfo& io : ios) names += (names.empty() ? "" : ", ") + io.name;
  return names;
}

Result<Tensor> decode_input(const json& input, const std::vector<IoInfo>& model_inputs, std::string_view binary,
                            size_t& binary_pos, const CodecLimits& limits, size_t& model_index) {
  if (!input.is_object()) return invalid_argument("each element of \"inputs\" must be an object");
  auto name_it = input.find("name");
  if (name_it == input.end() || !name_it->is_string()) return invalid_argument("an input has no \"name\" string");
  std::string name = name_it->get<std::string>();
  TS_ASSIGN_OR_RETURN(model_index, find_model_input(name, model_inputs));

  auto type_it = input.find("datatype");
  if (type_it == input.end() || !type_it->is_string())
    return invalid_argument("input '", name, "': no \"datatype\" string");
  auto dtype = datatype_from_v2(type_it->get<std::string>());
  if (!dtype) return invalid_argument("input '", name, "': unknown datatype \"", type_it->get<std::string>(), "\"");

  auto shape_it = input.find("shape");
  if (shape_it == input.end() || !shape_it->is_array()) return invalid_argument("input '", name, "': no \"shape\" array");
  Shape shape;
  for (const json& dim : *shape_it) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0)
      return invalid_argument("input '", name, "': shape ", shape_it->dump(), " is not a list of non-negative integers");
    shape.push_back(dim.get<int64_t>());
  }
  TS_RETURN_IF_ERROR(check_input(model_inputs[model_index], *dtype, shape));
  TS_RETURN_IF_ERROR(check_tensor_size(name, *dtype, shape, limits));

  std::optional<int64_t> binary_size;
  auto params = input.find("parameters");
  if (params != input.end()) {
    if (!params->is_object()) return invalid_argument("input '", name, "': \"parameters\" must be an object");
    auto size_it = params->find("binary_data_size");
    if (size_it != params->end()) {
      if (!size_it->is_number_integer() || size_it->get<int64_t>() < 0)
        return invalid_argument("input '", name, "': binary_data_size must be a non-negative integer");
      binary_size = size_it->get<int64_t>();
    }
  }
  TS_ASSIGN_OR_RETURN(Tensor tensor, Tensor::create(*dtype, shape));
  if (binary_size) {
    if (*binary_size > static_cast<int64_t>(binary.size() - binary_pos))
      return invalid_argument("input '", name, "': binary_data_size ", *binary_size, " runs past the ",
                              binary.size(), " bytes of binary data");
    TS_RETURN_IF_ERROR(fill_raw(binary.substr(binary_pos, static_cast<size_t>(*binary_size)), tensor, name));
    binary_pos += static_cast<size_t>(*binary_size);
    return tensor;
  }
  auto data = input.find("data");
  if (data == input.end()) return invalid_argument("input '", name, "': no \"data\" and no binary_data_size parameter");
  TS_RETURN_IF_ERROR(fill_json(*data, tensor, name, datatype_to_v2(*dtype)));
  return tensor;
}

Result<InferRequest> decode(std::string_view body, int64_t header_length, const std::vector<IoInfo>& model_inputs,
                            const std::vector<IoInfo>& model_outputs, const CodecLimits& limits) {
  if (header_length > static_cast<int64_t>(body.size()))
    return invalid_argument("Inference-Header-Content-Length ", header_length, " is longer than the body (",
                            body.size(), " bytes)");
  std::string_view text = header_length >= 0 ? body.substr(0, static_cast<size_t>(header_length)) : body;
  std::string_view binary = header_length >= 0 ? body.substr(static_cast<size_t>(header_length)) : std::string_view();
  if (!json_depth_ok(text)) return invalid_argument("malformed JSON: nested deeper than ", kMaxJsonDepth, " levels");
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return invalid_argument("malformed JSON: ", e.what());
  }
  if (!doc.is_object()) return invalid_argument("the request must be a JSON object");

  InferRequest request;
  auto id = doc.find("id");
  if (id != doc.end()) {
    if (!id->is_string()) return invalid_argument("\"id\" must be a string");
    request.id = id->get<std::string>();
  }
  auto params = doc.find("parameters");
  if (params != doc.end()) {
    if (!params->is_object()) return invalid_argument("\"parameters\" must be an object");
    auto binary_output = params->find("binary_data_output");
    if (binary_output != params->end()) {
      if (!binary_output->is_boolean()) return invalid_argument("binary_data_output must be true or false");
      request.binary_outputs = binary_output->get<bool>();
    }
  }
  auto inputs = doc.find("inputs");
  if (inputs == doc.end() || !inputs->is_array()) return invalid_argument("the request has no \"inputs\" array");
  std::vector<Tensor> by_position(model_inputs.size());
  size_t binary_pos = 0;
  for (const json& input : *inputs) {
    size_t index = 0;
    TS_ASSIGN_OR_RETURN(Tensor tensor, decode_input(input, model_inputs, binary, binary_pos, limits, index));
    if (by_position[index].defined()) return invalid_argument("input '", model_inputs[index].name, "' is given twice");
    by_position[index] = std::move(tensor);
  }
  if (binary_pos != binary.size())
    return invalid_argument(binary.size() - binary_pos, " bytes of binary data after the inputs' binary_data_size");
  TS_ASSIGN_OR_RETURN(request.feeds, feeds_in_model_order(std::move(by_position), model_inputs));

  auto outputs = doc.find("outputs");
  if (outputs != doc.end()) {
    if (!outputs->is_array()) return invalid_argument("\"outputs\" must be an array");
    for (const json& output : *outputs) {
      if (!output.is_object() || !output.contains("name") || !output["name"].is_string())
        return invalid_argument("each element of \"outputs\" must be an object with a \"name\"");
      RequestedOutput requested{output["name"].get<std::string>(), request.binary_outputs};
      TS_RETURN_IF_ERROR(check_output_name(requested.name, model_outputs));
      auto out_params = output.find("parameters");
      if (out_params != output.end() && out_params->is_object()) {
        auto binary_flag = out_params->find("binary_data");
        if (binary_flag != out_params->end()) {
          if (!binary_flag->is_boolean()) return invalid_argument("output '", requested.name, "': binary_data must be true or false");
          requested.binary = binary_flag->get<bool>();
        }
      }
      request.outputs.push_back(std::move(requested));
    }
  }
  return request;
}

template <class T>
json json_array(const Tensor& tensor) {
  json array = json::array();
  auto& values = array.get_ref<json::array_t&>();
  values.reserve(static_cast<size_t>(tensor.size()));
  for (const T& value : tensor.span<T>()) {
    if constexpr (std::is_same_v<T, float>) values.emplace_back(static_cast<double>(value));
    else values.emplace_back(value);
  }
  return array;
}

Result<json> json_data(const Tensor& tensor, const std::string& name) {
  switch (tensor.dtype()) {
    case DataType::boolean: return json_array<bool>(tensor);
    case DataType::uint8: return json_array<uint8_t>(tensor);
    case DataType::uint16: return json_array<uint16_t>(tensor);
    case DataType::uint32: return json_array<uint32_t>(tensor);
    case DataType::uint64: return json_array<uint64_t>(tensor);
    case DataType::int8: return json_array<int8_t>(tensor);
    case DataType::int16: return json_array<int16_t>(tensor);
    case DataType::int32: return json_array<int32_t>(tensor);
    case DataType::int64: return json_array<int64_t>(tensor);
    case DataType::float32: return json_array<float>(tensor);
    case DataType::float64: return json_array<double>(tensor);
    case DataType::string: return json_array<std::string>(tensor);
    default:
      return invalid_argument("output '", name, "' is ", datatype_to_v2(tensor.dtype()),
                              ", which has no JSON form: ask for it with \"binary_data\": true");
  }
}

}  // namespace

Status fill_raw(std::string_view bytes, Tensor& tensor, const std::string& input) {
  if (tensor.dtype() != DataType::string) {
    if (bytes.size() != tensor.byte_size())
      return invalid_argument("input '", input, "': ", bytes.size(), " bytes of raw data, expected ",
                              tensor.byte_size(), " for shape ", shape_to_string(tensor.shape()));
    if (!bytes.empty()) std::memcpy(tensor.raw_data(), bytes.data(), bytes.size());
    if (tensor.dtype() == DataType::boolean) {
      for (char b : bytes)
        if (b != 0 && b != 1) return invalid_argument("input '", input, "': a BOOL byte that is neither 0 nor 1");
    }
    return Status::ok();
  }
  std::string* out = tensor.data<std::string>();
  size_t pos = 0;
  for (int64_t i = 0; i < tensor.size(); ++i) {
    if (bytes.size() - pos < 4) return invalid_argument("input '", input, "': BYTES element ", i, " is cut short");
    uint32_t length = 0;
    for (int b = 0; b < 4; ++b) length |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[pos + b])) << (8 * b);
    pos += 4;
    if (bytes.size() - pos < length) return invalid_argument("input '", input, "': BYTES element ", i, " is cut short");
    out[i].assign(bytes.data() + pos, length);
    pos += length;
  }
  if (pos != bytes.size())
    return invalid_argument("input '", input, "': ", bytes.size() - pos, " bytes left after ", tensor.size(), " BYTES elements");
  return Status::ok();
}

Status check_input(const IoInfo& info, DataType dtype, const Shape& shape) {
  const char* expected = datatype_to_v2(info.dtype);
  if (dtype != info.dtype)
    return invalid_argument("input '", info.name, "': datatype ", datatype_to_v2(dtype), ", expected ",
                            expected ? expected : std::string(dtype_name(info.dtype)));
  if (!info.has_shape) return Status::ok();
  bool fits = shape.size() == info.shape.size();
  for (size_t i = 0; fits && i < shape.size(); ++i) fits = info.shape[i] < 0 || info.shape[i] == shape[i];
  if (!fits)
    return invalid_argument("input '", info.name, "': shape ", shape_to_string(shape), ", expected ", shape_to_string(info.shape),
                            " (-1: any size)");
  return Status::ok();
}

Result<size_t> find_model_input(const std::string& name, const std::vector<IoInfo>& model_inputs) {
  for (size_t i = 0; i < model_inputs.size(); ++i)
    if (model_inputs[i].name == name) return i;
  return invalid_argument("unknown input '", name, "'; the model's inputs: ", io_names(model_inputs));
}

Status check_tensor_size(const std::string& input, DataType dtype, const Shape& shape, const CodecLimits& limits) {
  auto count = checked_element_count(shape);
  if (!count.is_ok()) return invalid_argument("input '", input, "': ", count.status().message());
  int64_t element_bytes = dtype == DataType::string ? 1 : static_cast<int64_t>(dtype_size(dtype));
  if (*count > limits.max_tensor_bytes / element_bytes)
    return invalid_argument("input '", input, "': shape ", shape_to_string(shape), " is over the server's limit of ",
                            limits.max_tensor_bytes, " bytes per tensor");
  return Status::ok();
}

Result<Feeds> feeds_in_model_order(std::vector<Tensor> by_position, const std::vector<IoInfo>& model_inputs) {
  Feeds feeds;
  for (size_t i = 0; i < model_inputs.size(); ++i) {
    if (i >= by_position.size() || !by_position[i].defined())
      return invalid_argument("missing input '", model_inputs[i].name, "' (", model_inputs[i].type_string, ")");
    feeds.emplace_back(model_inputs[i].name, std::move(by_position[i]));
  }
  return feeds;
}

Status check_output_name(const std::string& name, const std::vector<IoInfo>& model_outputs) {
  for (const IoInfo& io : model_outputs)
    if (io.name == name) return Status::ok();
  return invalid_argument("unknown output '", name, "'; the model's outputs: ", io_names(model_outputs));
}

void append_raw(const Tensor& tensor, std::string& out) {
  if (tensor.dtype() != DataType::string) {
    out.append(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
    return;
  }
  for (const std::string& s : tensor.span<std::string>()) {
    uint32_t length = static_cast<uint32_t>(s.size());
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((length >> (8 * b)) & 0xff));
    out += s;
  }
}


std::optional<DataType> datatype_from_v2(std::string_view name) {
  for (const V2Type& t : kV2Types)
    if (name == t.name) return t.type;
  return std::nullopt;
}

const char* datatype_to_v2(DataType type) {
  for (const V2Type& t : kV2Types)
    if (type == t.type) return t.name;
  return nullptr;
}

Result<InferRequest> decode_infer_request(std::string_view body, int64_t header_length,
                                          const std::vector<IoInfo>& model_inputs,
                                          const std::vector<IoInfo>& model_outputs, const CodecLimits& limits) {
  // The checks above read types before values; this guard turns any slip into a 400, not a crash.
  try {
    return decode(body, header_length, model_inputs, model_outputs, limits);
  } catch (const std::exception& e) {
    return invalid_argument("bad request: ", e.what());
  }
}

Result<EncodedResponse> encode_infer_response(const std::string& model_name, const std::string& model_version,
                                              const InferRequest& request, const std::vector<IoInfo>& model_outputs,
                                              const std::vector<Value>& outputs) {
  std::vector<RequestedOutput> wanted = request.outputs;
  if (wanted.empty())
    for (const IoInfo& io : model_outputs) wanted.push_back({io.name, request.binary_outputs});
  json doc = {{"model_name", model_name}, {"model_version", model_version}};
  if (!request.id.empty()) doc["id"] = request.id;
  json& out_list = doc["outputs"] = json::array();
  std::string binary;
  for (const RequestedOutput& want : wanted) {
    size_t index = 0;
    while (index < model_outputs.size() && model_outputs[index].name != want.name) ++index;
    if (index >= outputs.size() || !outputs[index].is_tensor())
      return runtime_error("output '", want.name, "' is not a tensor, which the v2 protocol cannot carry");
    const Tensor& tensor = outputs[index].tensor();
    const char* v2_name = datatype_to_v2(tensor.dtype());
    if (!v2_name)
      return runtime_error("output '", want.name, "' is ", dtype_name(tensor.dtype()), ", which has no v2 datatype");
    json out = {{"name", want.name}, {"datatype", v2_name}, {"shape", tensor.shape()}};
    if (want.binary) {
      size_t before = binary.size();
      append_raw(tensor, binary);
      out["parameters"] = {{"binary_data_size", binary.size() - before}};
    } else {
      TS_ASSIGN_OR_RETURN(out["data"], json_data(tensor, want.name));
    }
    out_list.push_back(std::move(out));
  }
  EncodedResponse response;
  response.body = doc.dump(-1, ' ', false, json::error_handler_t::replace);  // BYTES outputs may not be UTF-8
  if (!binary.empty() || std::any_of(wanted.begin(), wanted.end(), [](const RequestedOutput& o) { return o.binary; })) {
    response.header_length = static_cast<int64_t>(response.body.size());
    response.body += binary;
  }
  return response;
}

}  // namespace tessera::serve
