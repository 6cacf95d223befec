// Reading and writing single values as serialized protobuf (.pb files of the ONNX test format
// and of `tessera run`): TensorProto, SequenceProto, OptionalProto, MapProto.
#pragma once

#include <string>

#include "graph/graph.h"
#include "tessera/status.h"
#include "tessera/value.h"

namespace tessera {

struct NamedValue {
  std::string name;  // may be empty
  Value value;
};

// Parses a .pb file whose message type follows from `type` (tensor when the kind is unknown).
Result<NamedValue> read_value_file(const std::string& path, const TypeInfo& type);
// The same for the file's bytes: external data is read relative to `base_dir`; errors start
// with `context` ("value file 'x.pb'").
Result<NamedValue> read_value_bytes(const std::string& bytes, const TypeInfo& type, const std::string& base_dir,
                                    const std::string& context);
// Writes `value` as the message matching its kind (an empty optional as an empty OptionalProto;
// an absent value is an error). A `declared` optional type writes an OptionalProto whatever the
// optional holds, as ONNX's test data does.
Status write_value_file(const std::string& path, const std::string& name, const Value& value,
                        const TypeInfo& declared = {});

}  // namespace tessera
