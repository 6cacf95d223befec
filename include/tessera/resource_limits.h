// Limits on what one model and one run may ask of the machine (SessionOptions::limits). A model
// or run past one fails with a Status naming the limit, the value seen and the field that
// raises it, instead of exhausting memory, the stack or time. docs/security.md lists each with
// its default and the test that proves it.
#pragma once

#include <cstdint>

namespace tessera {

struct ResourceLimits {
  // Size of the serialized model (the .onnx file or the bytes; external data not counted). The
  // default is protobuf's own 2 GB limit.
  uint64_t max_model_bytes = (uint64_t{1} << 31) - 1;
  // Nesting of protobuf messages while parsing (protobuf's recursion limit): bounds the stack.
  int max_protobuf_depth = 100;
  // Nesting of subgraphs (If/Loop/Scan bodies) and of function calls while inlining.
  int max_nesting_depth = 32;
  // Nodes of the model once its local functions are inlined (all graphs and subgraphs).
  uint64_t max_nodes = 1'000'000;
  // One tensor: an initializer as loaded, or any tensor a kernel allocates during a run.
  uint64_t max_tensor_elements = uint64_t{1} << 32;
  uint64_t max_tensor_bytes = uint64_t{16} << 30;
  // Bytes one run may hold at once in tensors from the session's buffer pool (intermediates,
  // outputs, kernel scratch); 0 means no limit beyond the tensor limits.
  uint64_t max_run_arena_bytes = uint64_t{64} << 30;
  // Iterations of one execution of a Loop or Scan node (runs of its body; a Loop with no trip
  // count runs until its condition turns false, which a crafted model may never do).
  int64_t max_loop_iterations = 10'000'000;
};

}  // namespace tessera
