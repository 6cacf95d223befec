// What a model file says about itself (ModelProto's descriptive fields), as ONNX Runtime's
// ModelMetadata reports it (Session::metadata()). Kept out of the IR: no stage below the API reads it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace tessera {

struct ModelMetadata {
  std::string producer_name;
  std::string producer_version;
  std::string graph_name;
  std::string domain;
  std::string description;                                  // ModelProto.doc_string
  std::string graph_description;                            // GraphProto.doc_string
  int64_t version = 0;                                      // ModelProto.model_version
  std::map<std::string, std::string> custom_metadata_map;  // ModelProto.metadata_props
};

}  // namespace tessera
