// The KServe v2 (Open Inference Protocol) infer request and response bodies: JSON tensors and the
// binary tensor data extension (a JSON header of Inference-Header-Content-Length bytes followed by
// the raw tensors), translated to and from Tessera feeds and outputs. Pure functions over bytes,
// so they are tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/session.h"

namespace tessera::serve {

// v2 datatype names: "BOOL", "UINT8".."UINT64", "INT8".."INT64", "FP16", "FP32", "FP64", "BYTES".
std::optional<DataType> datatype_from_v2(std::string_view name);
// The v2 name of `type`, or nullptr when the protocol has none (complex, bfloat16, float8, ...).
const char* datatype_to_v2(DataType type);

struct RequestedOutput {
  std::string name;
  bool binary = false;  // "parameters": {"binary_data": true}
};

struct InferRequest {
  std::string id;                        // echoed in the response when present
  Feeds feeds;                           // one per model input, in the model's input order
  std::vector<RequestedOutput> outputs;  // empty: every output
  bool binary_outputs = false;           // request parameter "binary_data_output"
};

struct CodecLimits {
  int64_t max_tensor_bytes = int64_t{1} << 30;  // one input tensor, checked before it is allocated
};

// The pieces both decoders (JSON/binary over HTTP, protobuf over gRPC) share, so one input is
// checked the same way whatever carried it. Errors are invalid_argument naming the input.
// The index of the model input `name`; the error lists the model's inputs.
Result<size_t> find_model_input(const std::string& name, const std::vector<IoInfo>& model_inputs);
// `dtype` and `shape` (ranks and fixed dims) against the model's input.
Status check_input(const IoInfo& info, DataType dtype, const Shape& shape);
// The tensor would be over limits.max_tensor_bytes (checked before anything is allocated; a BYTES
// element counts one byte).
Status check_tensor_size(const std::string& input, DataType dtype, const Shape& shape, const CodecLimits& limits);
// Raw tensor bytes (the binary extension, raw_input_contents): little-endian, row-major; a BYTES
// element is a 4-byte little-endian length and its bytes. The size must be exactly the tensor's.
Status fill_raw(std::string_view bytes, Tensor& tensor, const std::string& input);
// Appends `tensor` in the raw layout of fill_raw.
void append_raw(const Tensor& tensor, std::string& out);
// Feeds in the model's input order from tensors placed by input index; names a missing input.
Result<Feeds> feeds_in_model_order(std::vector<Tensor> by_position, const std::vector<IoInfo>& model_inputs);
// invalid_argument unless the model has an output `name`; the error lists the model's outputs.
Status check_output_name(const std::string& name, const std::vector<IoInfo>& model_outputs);

// Parses an infer request and checks it against the model's inputs and outputs: names, datatypes,
// ranks and fixed dims, element counts. `header_length` is the Inference-Header-Content-Length
// value (the JSON's size when binary data follows), or -1 when the whole body is JSON. Errors
// (invalid_argument) name the input and what was expected; malformed JSON is an error, never a
// crash.
Result<InferRequest> decode_infer_request(std::string_view body, int64_t header_length,
                                          const std::vector<IoInfo>& model_inputs,
                                          const std::vector<IoInfo>& model_outputs, const CodecLimits& limits);

struct EncodedResponse {
  std::string body;
  int64_t header_length = -1;  // >= 0: binary data follows the JSON; send Inference-Header-Content-Length
};

// The response for `request`: the outputs it asked for (all of them when none), JSON or binary as
// asked. `outputs` are the model's outputs in graph order.
Result<EncodedResponse> encode_infer_response(const std::string& model_name, const std::string& model_version,
                                              const InferRequest& request, const std::vector<IoInfo>& model_outputs,
                                              const std::vector<Value>& outputs);

}  // namespace tessera::serve
