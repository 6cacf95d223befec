// IR -> ONNX protobuf: the inverse of model_loader.h. Writes what the IR holds (graphs and
// subgraphs, attributes, declared types with symbolic dims, initializers of every dtype, model-local
// functions, opset imports); what the loader dropped (doc strings, metadata) is not written back.
// Sparse initializers were made dense by the loader and are written dense; Constant's
// sparse_value is written sparse again, as that attribute must be.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Tensors of this many bytes or more go to external data when a model would otherwise pass
// protobuf's 2 GB limit (the automatic choice, below).
constexpr uint64_t kAutoExternalDataMinBytes = 1024;

struct SaveOptions {
  // Tensors (initializers and tensor attributes, in every graph) whose data is at least this many
  // bytes are written to "<file>.data" next to the model, as ONNX external data
  // (location/offset/length, offsets 64-byte aligned so the loader can map them in place).
  // Unset: everything is written into the model file, unless its tensors add up to more than
  // protobuf's 2 GB limit; then tensors of kAutoExternalDataMinBytes or more go external.
  std::optional<uint64_t> external_data_threshold;
};

// The serialized ModelProto. Fails (naming the model) when it would pass protobuf's 2 GB limit:
// such a model must be saved to a file, with its weights in external data.
Result<std::string> serialize_model(const Model& model);

// Writes the model to `path` (and its external data, if any, to `path` + ".data"). Every domain a
// node uses gets an opset import: the model's own, else one of its functions', else version 1.
Status save_model(const Model& model, const std::string& path, const SaveOptions& options = {});

}  // namespace tessera
