// ONNX protobuf -> IR. The only place (with value_io.h) that sees protobuf.
#pragma once

#include <cstddef>
#include <string>

#include "graph/graph.h"
#include "tessera/model_metadata.h"
#include "tessera/resource_limits.h"
#include "tessera/status.h"

namespace tessera {

// Both loaders fill `metadata`, when given, with the model's descriptive fields.

// Loads a model file. External data is resolved relative to the file's folder, memory-mapped,
// and refused when its location escapes that folder or its offset/length run past the file.
// `limits` bound the file (max_model_bytes), protobuf nesting (max_protobuf_depth), subgraph
// nesting (max_nesting_depth) and each initializer (max_tensor_elements, max_tensor_bytes).
Result<Model> load_model_file(const std::string& path, const ResourceLimits& limits = {},
                             ModelMetadata* metadata = nullptr);

// Loads a serialized ModelProto. `base_dir` is the folder external data is resolved against;
// empty means the model may not use external data. `source` names the model in errors.
Result<Model> load_model_bytes(const void* data, size_t size, const std::string& base_dir,
                               const std::string& source = "<bytes>", const ResourceLimits& limits = {},
                               ModelMetadata* metadata = nullptr);

}  // namespace tessera
