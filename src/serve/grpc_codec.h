// The KServe v2 gRPC ModelInfer messages (kserve_v2.proto) translated to and from Tessera feeds
// and outputs, with the checks of the HTTP codec (tensor_codec.h): the same input lookup, dtype,
// shape and size checks and the same raw layout. Pure functions over messages, tested without a
// server.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <vector>

#include "src/serve/kserve_v2.pb.h"
#include "src/serve/tensor_codec.h"
#include "tessera/session.h"

namespace tessera::serve {

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
