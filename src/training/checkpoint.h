// The checkpoint file: the trained state of a TrainingSession (step, base learning rate, named
// float32 parameters, optimizer state). It is also the artifact that says which initializers of
// the training model are trainable (docs/training.md describes the layout).
//
// Layout, little-endian: "TESSERA-CHECKPOINT-2\0", int64 step, float64 learning rate,
// uint64 P, P x (uint64 name length, name bytes, uint64 rank, int64 dims, float32 data),
// uint64 S, S x (uint64 rank, int64 dims, float32 data), uint64 B, B x (a named tensor as the
// parameters). State tensor s belongs to parameter s % P (SGD: one momentum buffer each; AdamW:
// first moments, then second moments). Buffers are initializers the forward pass updates
// (BatchNormalization's running statistics), not trained by the optimizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera {

struct Checkpoint {
  int64_t step = 0;
  double learning_rate = 0;
  std::vector<std::string> names;  // per parameter
  std::vector<Tensor> params;      // float32, same order as names
  std::vector<Tensor> state;       // optimizer state (empty before the first optimizer step)
  std::vector<std::string> buffer_names;
  std::vector<Tensor> buffers;     // float32, same order as buffer_names
};

// Writes PATH.tmp, then renames it to PATH, so a crash never leaves a half-written checkpoint.
Status write_checkpoint(const Checkpoint& checkpoint, const std::string& path);
// Reads and checks the layout (magic, sizes, state shapes against their parameters).
Result<Checkpoint> read_checkpoint(const std::string& path);

}  // namespace tessera
