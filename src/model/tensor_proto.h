// TensorProto <-> Tensor, for every ONNX element type, and external data (memory-mapped files
// next to the model). Internal to src/model: the rest of Tessera never sees protobuf.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "model/model_skeleton.h"
#include "onnx.pb.h"
#include "tessera/resource_limits.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

// Resolves the external_data of TensorProtos against one model folder. Each data file is
// memory-mapped once and shared by every tensor that points into it; tensors keep the mapping
// alive. Locations that are absolute, contain "..", or resolve (through symlinks) outside the
// folder are refused, as are offsets/lengths past the end of the file. Not thread-safe: one
// instance serves one model load.
class ExternalData {
 public:
  // `base_dir` empty: the model came from bytes and may not use external data.
  explicit ExternalData(std::string base_dir) : base_dir_(std::move(base_dir)) {}

  // The bytes of `proto`'s external data, which must be exactly `expected_bytes` long. `owner`
  // keeps `data` valid.
  struct Bytes {
    const uint8_t* data = nullptr;
    std::shared_ptr<const void> owner;
  };
  Result<Bytes> read(const onnx::TensorProto& proto, uint64_t expected_bytes);

 private:
  struct MappedFile;
  Result<std::shared_ptr<MappedFile>> open(const std::string& location);

  std::string base_dir_;
  std::string canonical_base_;  // filled on first use
  std::map<std::string, std::shared_ptr<MappedFile>> files_;  // by canonical path
};

// Converts a TensorProto (raw_data, typed fields, or external data) into a Tensor. Sub-byte types
// arrive packed and come out unpacked, one byte per element (int4/int2 sign-extended). Errors name
// the tensor. `external` may be null when external data is not allowed. Dims past `limits`
// (max_tensor_elements, max_tensor_bytes) are refused before anything is allocated. `raw_data`,
// when given, is the raw_data a skeleton left out (model_skeleton.h), read instead of the proto's.
Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, ExternalData* external, const ResourceLimits& limits = {},
                                 const WireBytes* raw_data = nullptr);

// Converts a SparseTensorProto (values + linear or per-axis indices) into a dense Tensor.
Result<Tensor> tensor_from_sparse_proto(const onnx::SparseTensorProto& proto, ExternalData* external,
                                        const ResourceLimits& limits = {});

// Writes `tensor` into `proto` (dims, data_type, raw_data; strings in string_data; sub-byte
// types packed). `name` is stored when non-empty.
Status tensor_to_proto(const Tensor& tensor, const std::string& name, onnx::TensorProto* proto);

// Dense -> SparseTensorProto: the non-zero elements (non-empty strings) with their linear indices,
// the inverse of tensor_from_sparse_proto. `name` is stored on the values when non-empty.
Status tensor_to_sparse_proto(const Tensor& tensor, const std::string& name, onnx::SparseTensorProto* proto);

// Bytes `count` elements of `dtype` occupy in raw_data or external data (packed for sub-byte
// types). Not meaningful for strings.
uint64_t wire_byte_size(DataType dtype, int64_t count);

// Unpacks `count` sub-byte elements of `type` from `packed` into one byte each; packs the other
// way. `packed` holds ceil(count * bits / 8) bytes.
void unpack_subbyte(DataType type, const uint8_t* packed, int64_t count, uint8_t* out);
void pack_subbyte(DataType type, const uint8_t* unpacked, int64_t count, uint8_t* out);

}  // namespace tessera
