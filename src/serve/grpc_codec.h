// The KServe v2 gRPC messages (kserve_v2.proto): a request's bytes parsed with limits, and
// ModelInfer translated to and from Tessera feeds and outputs with the checks of the HTTP codec
// (tensor_codec.h): the same input lookup, dtype, shape and size checks and the same raw layout.
// Pure functions over bytes and messages, tested without a server.
#pragma once

#include <grpcpp/impl/codegen/config_protobuf.h>  // grpc::protobuf: the protobuf gRPC was built with
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>
#include <vector>

#include "src/serve/kserve_v2.pb.h"
#include "src/serve/tensor_codec.h"
#include "tessera/session.h"

namespace tessera::serve {

// Messages nested deeper than this are refused (the v2 messages nest 4 deep; a group in unknown
// fields can nest as deep as its bytes go).
inline constexpr int kMaxMessageNesting = 16;

// Parses `bytes`, a request as gRPC received it, into `message` (which the server does itself,
// so that bytes which are not a message get INVALID_ARGUMENT naming the message type, where
// gRPC's generated code would answer INTERNAL). RESOURCE_EXHAUSTED over `max_bytes` (checked
// before parsing); INVALID_ARGUMENT for a wire format error, a truncated message, or nesting
// deeper than kMaxMessageNesting.
grpc::Status parse_message(const grpc::ByteBuffer& bytes, size_t max_bytes, grpc::protobuf::MessageLite& message);

// Fills `request` (feeds in model order, the outputs asked for; binary_outputs: answer in
// raw_output_contents) from `message`. Inputs come from each tensor's typed `contents`, or all of
// them from raw_input_contents. Errors: INVALID_ARGUMENT naming the input and what was expected;
// RESOURCE_EXHAUSTED for a tensor over limits.max_tensor_bytes.
grpc::Status decode_model_infer(const inference::ModelInferRequest& message, const std::vector<IoInfo>& model_inputs,
                                const std::vector<IoInfo>& model_outputs, const CodecLimits& limits,
                                InferRequest& request);

// The response for `request`: the outputs it asked for (all when none), in typed contents, or in
// raw_output_contents when request.binary_outputs is set or an output's datatype has no typed
// field (FP16). `outputs` are the model's outputs in graph order. INTERNAL for an output the v2
// protocol cannot carry (a sequence, a complex number).
grpc::Status encode_model_infer(const std::string& model_name, const std::string& model_version,
                                const InferRequest& request, const std::vector<IoInfo>& model_outputs,
                                const std::vector<Value>& outputs, inference::ModelInferResponse& response);

}  // namespace tessera::serve
