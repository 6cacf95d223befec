// libFuzzer target: bytes -> TensorProto / SparseTensorProto / SequenceProto / MapProto /
// OptionalProto -> Value (src/model/value_io, the .pb files of `tessera run` and `tessera test`).
//
// Input layout: the first byte picks the declared type (its value mod 6: tensor, sparse tensor,
// sequence of tensors, sequence of unknown, map, optional of tensor), the rest is the message.
// External data resolves against a folder that does not exist, so it is always an error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "model/value_io.h"

namespace {

tessera::TypeInfo declared_type(uint8_t selector) {
  using Kind = tessera::TypeInfo::Kind;
  auto tensor = std::make_shared<tessera::TypeInfo>();
  tensor->kind = Kind::tensor;
  tessera::TypeInfo type;
  switch (selector % 6) {
    case 0: type.kind = Kind::tensor; break;
    case 1: type.kind = Kind::sparse_tensor; break;
    case 2: type.kind = Kind::sequence; type.inner = tensor; break;
    case 3: type.kind = Kind::sequence; break;
    case 4: type.kind = Kind::map; break;
    default: type.kind = Kind::optional; type.inner = tensor; break;
  }
  return type;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const tessera::TypeInfo type = declared_type(data[0]);
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto value = tessera::read_value_bytes(bytes, type, "/nonexistent/tessera-fuzz", "fuzz input");
  (void)value;
  return 0;
}
