// A serialized ModelProto without the bytes of its main graph's large weights. Parsing a model
// with protobuf copies each raw_data into a string, which the loader then copies again into an
// aligned tensor: for ViT-B/16's 344 MB of weights, two passes over fresh pages. Parsing the
// skeleton instead and copying each left-out payload once, from the caller's bytes (the mapped
// file) into its tensor, does one. Internal to src/model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace tessera {

// Where one left-out raw_data lies in the original bytes.
struct WireBytes {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
};

struct ModelSkeleton {
  // The ModelProto with every raw_data of at least the threshold's size, among the main graph's
  // initializers, made empty (length 0), and the graph's and those initializers' lengths
  // rewritten to match.
  std::string bytes;
  // The left-out payloads, by the initializer's index in GraphProto.initializer.
  std::unordered_map<int, WireBytes> payloads;
};

// The skeleton of the ModelProto in `data` (`size` bytes), leaving out raw_data payloads of at
// least `min_payload` bytes. nullopt when the bytes are not the plain shape this expects (one
// graph field, at most one raw_data per initializer, no groups, every length inside its message)
// or nothing is left out: the caller then parses the bytes as they are, and protobuf reports what
// is wrong with them.
std::optional<ModelSkeleton> model_skeleton(const uint8_t* data, size_t size, uint64_t min_payload);

}  // namespace tessera
